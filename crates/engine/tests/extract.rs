//! Main-content extraction on hand-written pages in the styles the web actually uses, PDFs
//! built byte by byte, and passage splitting.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use parallax_engine::extract::{
    extract_html, extract_pdf, extract_text, markdown_to_text, parse_date, passages, ExtractError,
    Extracted,
};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/extract/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

#[track_caller]
fn assert_has(e: &Extracted, needles: &[&str]) {
    for n in needles {
        assert!(
            e.markdown.contains(n),
            "markdown lacks {n:?}:\n{}",
            e.markdown
        );
    }
}

#[track_caller]
fn assert_text_has(e: &Extracted, needles: &[&str]) {
    for n in needles {
        assert!(e.text.contains(n), "text lacks {n:?}:\n{}", e.text);
    }
}

#[track_caller]
fn assert_lacks(e: &Extracted, needles: &[&str]) {
    for n in needles {
        assert!(
            !e.markdown.contains(n),
            "markdown keeps boilerplate {n:?}:\n{}",
            e.markdown
        );
        assert!(
            !e.text.contains(n),
            "text keeps boilerplate {n:?}:\n{}",
            e.text
        );
    }
}

/// What every extraction must look like: blocks separated by one blank line, no trailing
/// spaces or odd whitespace outside code, text without markdown syntax.
#[track_caller]
fn assert_clean(e: &Extracted) {
    let md = &e.markdown;
    assert!(!md.contains("\n\n\n"), "runs of blank lines:\n{md}");
    assert!(!md.starts_with(char::is_whitespace) && !md.ends_with(char::is_whitespace));
    assert!(!md.contains('\u{a0}') && !md.contains('\u{200b}'));
    let mut in_code = false;
    for line in md.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            assert_eq!(line, line.trim_end(), "trailing whitespace in {line:?}");
        }
    }
    assert!(!e.text.contains("](http"), "link syntax in text");
    assert!(!e.text.contains("\n#"), "heading syntax in text");
    assert!(!e.text.contains("```"), "fences in text");
}

const URL: &str = "https://www.coastalherald.example/local/barrier-vote";

#[test]
fn news_article_keeps_the_story_and_drops_the_site() {
    let e = extract_html(&fixture("news_article.html"), URL);
    assert_eq!(
        e.title.as_deref(),
        Some("Marlow Bay council approves tidal barrier after decade of floods")
    );
    assert_eq!(e.published, date(2024, 3, 12));
    assert_has(
        &e,
        &[
            "The Marlow Bay town council voted on Monday night to build a movable tidal barrier across the mouth of the Essin estuary",
            "The 14-member council approved the plan by 11 votes to 3 after a four-hour session.",
            "\"Tonight the town decided that it would rather pay once than pay forever.\"",
            "## How the barrier will work",
            "- Four rising sector gates, each 38 metres wide\n- A control station on the eastern pier",
            "> Opponents argued that the barrier would silt up the inner harbour",
            "The council will hold a public exhibition of the final design at the Corn Exchange from 2 April.",
            // A content link, made absolute.
            "[sediment study](https://www.coastalherald.example/local/2023/sediment-study)",
        ],
    );
    assert_text_has(
        &e,
        &["review the sediment study before any contract is signed."],
    );
    assert_lacks(
        &e,
        &[
            "Skip to main content",
            "Politics",
            "Weather",
            "BREAKING",
            "Search the Herald",
            "Advertisement",
            "Brightwave",
            "Ferry fares to rise in April",
            "Share this article",
            "Tags:",
            "Get the Herald every morning",
            "Regatta crowds break record",
            "Harbour seal pup rescued",
            "11°C",
            "Privacy policy",
            "All rights reserved",
            "Ines Halloran",
        ],
    );
    assert!(
        e.links.iter().any(|l| l.url
            == "https://www.coastalherald.example/local/2023/sediment-study"
            && l.text == "sediment study"),
        "{:?}",
        e.links
    );
    assert!(
        !e.links.iter().any(|l| l.url.ends_with("/politics")),
        "{:?}",
        e.links
    );
    assert_clean(&e);
}

#[test]
fn blog_post_without_cookie_banner_comments_or_widgets() {
    let e = extract_html(
        &fixture("blog_comments_cookie.html"),
        "https://blog.fernhill.example/build-cache",
    );
    assert_eq!(
        e.title.as_deref(),
        Some("Why we moved our build cache to object storage")
    );
    assert_eq!(e.published, date(2023, 11, 5));
    assert_has(
        &e,
        &[
            "For three years our continuous integration fleet kept its build cache on a single network file server.",
            "## The problem with one big disk",
            "at peak hours 240 runners were reading from it at once.",
            "1. Cache keys are now content hashes of the inputs",
            "3. Old entries expire after 21 days through a bucket lifecycle rule.",
            "but the 99th percentile fell from 2.4 seconds to 190 milliseconds.",
        ],
    );
    assert_lacks(
        &e,
        &[
            "We use cookies",
            "Cookie policy",
            "This website uses trackers",
            "Accept all",
            "Reject all",
            "Comments",
            "Did you consider running a dedicated cache server",
            "operating four servers would have brought back",
            "Great write-up",
            "Leave a Reply",
            "Your email address will not be published",
            "Recent posts",
            "Archives",
            "Previous post",
            "Flaky tests are a queueing problem",
            "Share this",
            "Twitter",
            "Posted on",
            "Proudly powered",
            "Jobs",
        ],
    );
    assert_clean(&e);
}

#[test]
fn docs_page_keeps_code_and_tables() {
    let e = extract_html(
        &fixture("docs_code_table.html"),
        "https://docs.quillon.example/en/2.4/guide/retry.html",
    );
    assert_eq!(e.title.as_deref(), Some("Configuring the retry policy"));
    assert_eq!(e.published, None, "a copyright year is no publish date");
    assert_has(
        &e,
        &[
            "Quillon retries failed requests according to a *retry policy*.",
            // Code: fenced, language kept, indentation kept.
            "```rust\nuse quillon::{Client, RetryPolicy};\n\nlet policy = RetryPolicy::exponential()\n    .max_attempts(5)\n    .initial_backoff_ms(200);\nlet client = Client::builder().retry(policy).build()?;\n```",
            "## Options",
            // The table, as a pipe table.
            "| Option | Default | Description |\n| --- | --- | --- |\n| `max_attempts` | 3 | Total attempts, including the first one. |\n| `initial_backoff_ms` | 100 | Wait before the second attempt. |\n| `jitter` | full | Randomisation applied to each wait. |",
            "## Retrying on status codes",
            // A <pre> without <code> is fenced too.
            "```\nclient.retry_on_status(429)\n      .respect_retry_after(true)\n```",
            "Add a status with `retry_on_status(429)` to retry rate-limited requests as well.",
        ],
    );
    assert_text_has(
        &e,
        &[
            "max_attempts\t3\tTotal attempts, including the first one.",
            "Quillon retries failed requests according to a retry policy.",
        ],
    );
    assert_lacks(
        &e,
        &[
            "Installation",
            "Quickstart",
            "Timeouts and deadlines",
            "Search docs",
            "Docs »",
            "Edit on GitHub",
            "Previous",
            "Next",
            "Copyright",
            "Built with",
            "Was this page helpful",
            "¶",
            "SphinxRtdTheme",
        ],
    );
    assert_clean(&e);
}

#[test]
fn page_made_only_of_divs() {
    let e = extract_html(
        &fixture("div_soup.html"),
        "http://kettleby-allotments.example/notes/spring.php",
    );
    assert_eq!(e.title.as_deref(), Some("Spring planting notes"));
    assert_eq!(e.published, date(2022, 2, 14));
    assert_has(
        &e,
        &[
            // `<br><br>` separates paragraphs.
            "stays waterlogged well into March.\n\nThe society's seed potatoes arrive on 19 March",
            "Each full plot is entitled to two bags of Charlotte and one bag of Pink Fir Apple.",
            "net them against the pigeons that nest in the poplars along the brook.",
            "Pinch out the tops once the first pods set to discourage blackfly",
            "hosepipes are not permitted on any plot.",
        ],
    );
    assert_lacks(
        &e,
        &[
            "Join us",
            "Contact",
            "Winter notes",
            "Autumn notes",
            "Photo gallery",
            "Registered charity",
            "Privacy",
            "Terms",
        ],
    );
    assert_clean(&e);
}

#[test]
fn json_ld_gives_the_date_and_headline() {
    let e = extract_html(
        &fixture("jsonld_article.html"),
        "https://wq.example/mammals/vessen-hare",
    );
    // og:title carries the site name; the <h1> does not.
    assert_eq!(
        e.title.as_deref(),
        Some("The quiet return of the Vessen hare")
    );
    // The article's datePublished, not the WebPage's, the modified time or the
    // organisation's founding date.
    assert_eq!(e.published, date(2021, 7, 4));
    assert_has(
        &e,
        &[
            "Last summer a survey team from the University of Thessaly counted 46 adults and at least 12 leverets",
            "## Why the hares came back",
            "### What happens next",
            "- The regional wildlife trust will fit ten animals with radio collars.",
            "\"But for the first time in a generation we are talking about a population rather than a ghost.\"",
        ],
    );
    assert_lacks(
        &e,
        &[
            "Mammals",
            "Birds",
            "Subscribe",
            "You have read 3 of your 5 free articles",
            "Facebook",
            "Most popular",
            "Otters return to the Wendle",
            "Registered in England",
            "_paq",
        ],
    );
    assert_clean(&e);
}

#[test]
fn short_page_still_yields_its_content() {
    // Too short for readability's thresholds: the structural fallback must hold.
    let e = extract_html(
        &fixture("short_notice.html"),
        "https://libraries.westmere.example/news/ashgrove",
    );
    assert_eq!(e.title.as_deref(), Some("Branch closure: Ashgrove Library"));
    assert_eq!(e.published, date(2024, 6, 3));
    assert_has(
        &e,
        &[
            "Ashgrove Library will be closed from 10 June to 28 June while the heating system is replaced.",
            "loans will be renewed automatically until 5 July.",
            "The Tuesday rhyme-time sessions move to the Ashgrove Community Centre on Mill Street for these three weeks.",
        ],
    );
    assert_lacks(
        &e,
        &[
            "Catalogue",
            "eBooks and audiobooks",
            "Join the library",
            "Sign up for library news",
            "Get event listings by email",
            "Accessibility",
            "Freedom of information",
            "Westmere Borough Council",
        ],
    );
    assert_clean(&e);
}

#[test]
fn page_wrapped_in_a_form_keeps_its_table() {
    let e = extract_html(
        &fixture("form_wrapped.html"),
        "https://www.brennockwater.example/reports/report.aspx?id=2023",
    );
    assert_eq!(e.title.as_deref(), Some("Annual water quality report 2023"));
    assert_eq!(e.published, date(2023, 4, 28));
    assert_has(
        &e,
        &[
            "The Brennock Water Board carried out 18,240 tests on drinking water samples",
            "a compliance rate of 99.95 per cent.",
            // A table without <thead>: its first row of <th> is the header.
            "| Parameter | Samples | Failures | Limit |\n| --- | --- | --- | --- |\n| Lead | 1,204 | 9 | 10 µg/l |",
            "| E. coli | 4,410 | 0 | 0 per 100 ml |",
            "Customers who live in houses built before 1970 can ask for a free lead test",
        ],
    );
    assert_lacks(
        &e,
        &[
            "Customer login",
            "Pay a bill",
            "Report a leak",
            "About the board",
            "Careers",
            "Copyright Brennock",
            "Site map",
            "wEPDw",
        ],
    );
    assert_clean(&e);
}

#[test]
fn degenerate_inputs_give_something_sensible() {
    let e = extract_html("", "");
    assert_eq!(e.markdown, "");
    assert_eq!(e.title, None);

    let e = extract_html(
        "<p>Hello <b>world</b>, this is a fragment.</p>",
        "not a url",
    );
    assert_eq!(e.markdown, "Hello **world**, this is a fragment.");
    assert_eq!(e.text, "Hello world, this is a fragment.");

    let e = extract_html("just text, no tags at all", "https://x.example/");
    assert_eq!(e.text, "just text, no tags at all");

    // Deep nesting and unclosed tags neither crash (a stack overflow would abort the whole
    // process) nor take long, nor lose the text; run with the stack of a blocking thread.
    for depth in [250, 300, 2_000, 50_000] {
        let page = format!(
            "<html><body>{}<p>Deep inside the nest lives one sentence of content.</p></body></html>",
            "<div><span>".repeat(depth / 2)
        );
        let started = Instant::now();
        let e = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || extract_html(&page, "https://x.example/deep"))
            .unwrap()
            .join()
            .unwrap();
        assert!(
            e.text
                .contains("Deep inside the nest lives one sentence of content."),
            "{depth}: {}",
            e.text
        );
        let bound = if cfg!(debug_assertions) { 3_000 } else { 300 };
        assert!(
            started.elapsed() < Duration::from_millis(bound),
            "{depth}: {:?}",
            started.elapsed()
        );
    }
    // Unclosed tags and stray closing tags.
    let deep = format!(
        "<html><body>{}<p>Deep inside the nest lives one sentence of content.{}",
        "<div>".repeat(150),
        "</span>".repeat(10)
    );
    let e = extract_html(&deep, "https://x.example/deep");
    assert!(
        e.text
            .contains("Deep inside the nest lives one sentence of content."),
        "{}",
        e.text
    );

    // Markdown characters in text are escaped in markdown and plain in text.
    let e = extract_html(
        "<article><p>Use a_b * c and [x] as written; it costs $5 &lt;not a tag&gt;.</p></article>",
        "",
    );
    assert_eq!(
        e.text,
        "Use a_b * c and [x] as written; it costs $5 <not a tag>."
    );
    assert!(
        e.markdown.contains(r"a\_b \* c and \[x\]"),
        "{}",
        e.markdown
    );
}

#[test]
fn encyclopedia_page_without_citations_references_or_navboxes() {
    let e = extract_html(
        &fixture("wiki_like.html"),
        "https://openpedia.example/wiki/Orrin_Light_Railway",
    );
    assert_eq!(e.title.as_deref(), Some("Orrin Light Railway"));
    assert_eq!(
        e.published, None,
        "the last-edited footer is no publish date"
    );
    assert_has(
        &e,
        &[
            // The infobox: a colspan header and rows of <th> + <td>.
            "| Orrin Light Railway | |\n| --- | --- |\n| Locale | Orrin uplands |\n| Opened | 1903 |\n| Gauge | 2 ft (610 mm) |",
            // Citation markers gone, text intact.
            "between Caldbeck and the quarry village of Hesket Moor. It was built in 1903 to carry slate",
            "## History\n\nSlate traffic declined after the Second World War",
            "The last quarry train ran on 3 August 1962.\n",
            "## Rolling stock",
            "The oldest, *Hesket*, was built by Kerr Stuart in 1904",
            "## See also\n\n- [List of heritage railways](https://openpedia.example/wiki/List_of_heritage_railways)",
        ],
    );
    assert_lacks(
        &e,
        &[
            "[1]",
            "[3]",
            "edit",
            "Jump to content",
            "Random article",
            "From Openpedia",
            "Contents",
            "References",
            "Slate Lines of the North",
            "External links",
            "Official website",
            "Heritage railways of the north",
            "Birkdale Railway",
            "Retrieved from",
            "Categories",
            "last edited",
            "free licence",
        ],
    );
    // Links follow the markdown: none from the dropped sections.
    let urls: Vec<&str> = e.links.iter().map(|l| l.url.as_str()).collect();
    assert_eq!(
        urls,
        vec!["https://openpedia.example/wiki/List_of_heritage_railways"]
    );
    assert_clean(&e);
}

/// A page of about 100 KB shaped like a real article page: big inline scripts and styles,
/// a mega menu, the article, comments and a large footer.
fn typical_100kb_page() -> String {
    let mut s = String::from("<!DOCTYPE html><html><head><meta charset=utf-8><title>Harbour trade figures for the year - The Coastal Herald</title>");
    s.push_str(r#"<meta property="article:published_time" content="2024-01-09T07:00:00Z">"#);
    s.push_str("<script>window.__CONFIG__ = {");
    for i in 0..450 {
        s.push_str(&format!(
            "\"feature_flag_{i}\": {{\"enabled\": true, \"rollout\": 0.{i}}}, "
        ));
    }
    s.push_str("};</script><style>");
    for i in 0..250 {
        s.push_str(&format!(
            ".c{i} {{ margin: {i}px; padding: 0 {i}px; color: #{i:03}; }}\n"
        ));
    }
    s.push_str("</style></head><body><header><nav><ul>");
    for i in 0..300 {
        s.push_str(&format!(
            "<li class=\"menu-item\"><a href=\"/section/{i}\">Section {i}</a></li>"
        ));
    }
    s.push_str("</ul></nav></header><main><article><h1>Harbour trade figures for the year</h1>");
    for i in 0..60 {
        if i % 9 == 0 {
            s.push_str(&format!("<h2>Part {i} of the review</h2>"));
        }
        s.push_str(&format!(
            "<p>Paragraph {i}: the harbour authority reported that tonnage handled at the eastern quays rose again, \
             driven by grain exports and by the new ferry service, while fishing landings fell slightly for the \
             third consecutive year. Officials said the figures for quarter {i} were broadly in line with forecasts.</p>"
        ));
    }
    s.push_str("</article><section id=\"comments\"><h2>Comments</h2>");
    for i in 0..60 {
        s.push_str(&format!(
            "<div class=\"comment\"><span class=\"author\">Reader {i}</span><p>I think comment {i} makes a fair point about the harbour.</p></div>"
        ));
    }
    s.push_str("</section></main><footer>");
    for i in 0..300 {
        s.push_str(&format!("<a href=\"/footer/{i}\">Footer link {i}</a> "));
    }
    s.push_str("</footer></body></html>");
    s
}

#[test]
fn a_typical_100kb_page_is_fast() {
    let html = typical_100kb_page();
    assert!(
        (90_000..140_000).contains(&html.len()),
        "page is {} bytes",
        html.len()
    );
    let e = extract_html(&html, URL);
    assert!(e
        .text
        .contains("Paragraph 59: the harbour authority reported"));
    assert!(
        !e.text.contains("Section 17")
            && !e.text.contains("Footer link")
            && !e.text.contains("Reader 3")
    );
    assert_eq!(e.published, date(2024, 1, 9));

    let mut times: Vec<Duration> = (0..15)
        .map(|_| {
            let t = Instant::now();
            let e = extract_html(&html, URL);
            let dt = t.elapsed();
            assert!(!e.markdown.is_empty());
            dt
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "extract_html on a {} KB page: median {median:?} (min {:?}, max {:?})",
        html.len() / 1024,
        times[0],
        times[times.len() - 1]
    );
    // Generous bounds: the machine is shared; the figure printed above is what counts.
    let bound = if cfg!(debug_assertions) {
        Duration::from_millis(600)
    } else {
        Duration::from_millis(40)
    };
    assert!(median < bound, "median {median:?} over {bound:?}");
}

// ---------------------------------------------------------------------------------------
// PDF

/// Builds a PDF with the given objects (numbered from 1; object 1 must be the catalog) and
/// a correct cross-reference table.
fn build_pdf(objects: &[Vec<u8>], info: Option<usize>) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    let info = info.map(|i| format!(" /Info {i} 0 R")).unwrap_or_default();
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R{info} >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn stream(content: &str) -> Vec<u8> {
    format!(
        "<< /Length {} >>\nstream\n{content}\nendstream",
        content.len()
    )
    .into_bytes()
}

/// A one-page PDF with Helvetica text; `page_extra` goes into the page dictionary.
fn text_pdf(lines: &[&str], info: Option<&str>, media_box: bool) -> Vec<u8> {
    let mut content = String::from("BT\n/F1 12 Tf\n72 720 Td\n");
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            content.push_str("0 -18 Td\n");
        }
        content.push_str(&format!("({line}) Tj\n"));
    }
    content.push_str("ET");
    let media = if media_box {
        " /MediaBox [0 0 612 792]"
    } else {
        ""
    };
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!("<< /Type /Page /Parent 2 0 R{media} /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>").into_bytes(),
        stream(&content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let info_id = info.map(|i| {
        objects.push(i.as_bytes().to_vec());
        objects.len()
    });
    build_pdf(&objects, info_id)
}

#[test]
fn pdf_text_title_and_date() {
    let pdf = text_pdf(
        &[
            "Quarterly Report on Widget Exports",
            "Exports of brass widgets rose 14 percent in the third quarter.",
            "Most of the growth came from the Northern Province.",
        ],
        Some("<< /Title (Widget Exports, Third Quarter) /CreationDate (D:20240315093000Z) >>"),
        true,
    );
    let e = extract_pdf(&pdf, "https://stats.example/reports/q3.pdf").expect("valid PDF");
    assert_eq!(e.title.as_deref(), Some("Widget Exports, Third Quarter"));
    assert_eq!(e.published, date(2024, 3, 15));
    let first = e
        .text
        .find("Quarterly Report on Widget Exports")
        .expect(&e.text);
    let second = e
        .text
        .find("Exports of brass widgets rose 14 percent in the third quarter.")
        .expect(&e.text);
    let third = e
        .text
        .find("Most of the growth came from the Northern Province.")
        .expect(&e.text);
    assert!(
        first < second && second < third,
        "reading order: {}",
        e.text
    );
    assert_eq!(e.markdown, e.text);
}

#[test]
fn pdf_title_falls_back_to_the_first_line() {
    // No information dictionary; and one whose title is a placeholder.
    for info in [None, Some("<< /Title (Microsoft Word - draft3.docx) >>")] {
        let pdf = text_pdf(
            &["Minutes of the Harbour Board", "The board met on 4 June."],
            info,
            true,
        );
        let e = extract_pdf(&pdf, "https://x.example/2024/06/05/minutes.pdf").expect("valid PDF");
        assert_eq!(e.title.as_deref(), Some("Minutes of the Harbour Board"));
        // No CreationDate: the URL's date.
        assert_eq!(e.published, date(2024, 6, 5));
        assert!(e.text.contains("The board met on 4 June."), "{}", e.text);
    }
}

#[test]
fn corrupt_pdfs_are_errors_not_panics() {
    let valid = text_pdf(&["Some text"], None, true);
    let mut noise = Vec::with_capacity(4096);
    let mut x: u32 = 0x1234_5678;
    for _ in 0..4096 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        noise.push((x >> 24) as u8);
    }
    let mut pdf_noise = b"%PDF-1.7\n".to_vec();
    pdf_noise.extend_from_slice(&noise);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("not a PDF", b"<html><body>not a pdf</body></html>".to_vec()),
        ("noise", noise),
        ("header then noise", pdf_noise),
        ("truncated", valid[..valid.len() / 3].to_vec()),
    ];
    for (name, bytes) in cases {
        let r = extract_pdf(&bytes, "https://x.example/a.pdf");
        assert!(r.is_err(), "{name}: {r:?}");
    }
}

#[test]
fn a_pdf_that_makes_the_parser_panic_is_an_error() {
    // A page without a MediaBox makes pdf-extract panic; that must come back as an error.
    let pdf = text_pdf(&["Boxless page"], None, false);
    match extract_pdf(&pdf, "https://x.example/boxless.pdf") {
        Err(ExtractError::Parser(msg)) => assert!(msg.contains("MediaBox"), "{msg}"),
        other => panic!("expected a contained parser failure, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Plain text and dates

#[test]
fn plain_text_is_normalised() {
    let e = extract_text(
        "  Release notes for 2.4\n\n\n\nFixed a crash in the  retry loop.\r\nImproved the docu-\nmentation.\n\n\n",
        "https://x.example/2024-02-29/notes.txt",
    );
    assert_eq!(e.title.as_deref(), Some("Release notes for 2.4"));
    assert_eq!(e.published, date(2024, 2, 29));
    assert_eq!(
        e.markdown,
        "Release notes for 2.4\n\nFixed a crash in the retry loop.\nImproved the documentation."
    );
    assert_eq!(e.text, e.markdown);
}

#[test]
fn a_fact_box_opening_the_article_is_kept_as_a_table() {
    let para = |s: &str| {
        format!("<p>{s} The company grew steadily over the following decades, opening new works along the river and hiring from the valley towns around it.</p>")
    };
    let html = format!(
        "<html><head><title>Harrow Kettleworks</title></head><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav>\
         <main><h1>Harrow Kettleworks</h1><p class='tagline'>From Encyclo</p>\
         <table class='infobox'><caption>Harrow Kettleworks Ltd</caption><tbody>\
         <tr><th scope='row'>Type</th><td>Private</td></tr>\
         <tr><th scope='row'>Founded</th><td>3 May 1911</td></tr>\
         <tr><th scope='row'>Headquarters</th><td>Pell Yard, Brastmoor</td></tr>\
         <tr><th scope='row'>Employees</th><td>about 640 (2023)</td></tr></tbody></table>\
         <div class='article-body'>{}<h2>History</h2>{}{}</div><p class='updated'>Last edited on 9 May 2022.</p></main><footer><p>Footer text and links, copyright Encyclo.</p></footer></body></html>",
        para("<b>Harrow Kettleworks</b> is a maker of copper kettles based in Brastmoor."),
        para("It was founded in 1911 by the smith Edda Harrow."),
        para("Today it sells kettles in forty countries."),
    );
    let e = extract_html(&html, "https://x.example/wiki/Harrow");
    assert!(
        e.markdown
            .contains("| Headquarters | Pell Yard, Brastmoor |"),
        "{}",
        e.markdown
    );
    assert!(
        e.markdown.contains("is a maker of copper kettles"),
        "{}",
        e.markdown
    );
    assert!(!e.markdown.contains("Footer text"), "{}", e.markdown);
}

#[test]
fn tab_separated_rows_read_back_as_a_table() {
    // The local index keeps a page as `markdown_to_text` wrote it: table rows as
    // tab-separated cells. Read back, each row must still pair its label with its value.
    let html = "<html><body><main><h1>Zorvik Mills</h1><p>Zorvik Mills is a weaving company with a long history in the valley towns.</p>\
        <table><tr><th>Founded</th><td>1884</td></tr><tr><th>Headquarters</th><td>Pell Yard | Brastmoor</td></tr></table>\
        <p>It has been owned by the Kessel family for four generations of weavers and dyers.</p></main></body></html>";
    let stored = extract_html(html, "https://x.example/zorvik").text;
    assert!(stored.contains("Founded\t1884"), "{stored}");
    let e = extract_text(&stored, "https://x.example/zorvik");
    assert!(
        e.markdown.contains(
            "| Founded | 1884 |\n| --- | --- |\n| Headquarters | Pell Yard \\| Brastmoor |"
        ),
        "{}",
        e.markdown
    );
    assert!(
        e.text.contains("Founded 1884"),
        "the plain text stays plain: {}",
        e.text
    );
    let table = passages(&e, 600)
        .into_iter()
        .find(|p| p.text.contains("Headquarters"))
        .expect("a passage with the table");
    assert!(table.text.contains("| Headquarters |"), "{}", table.text);
    // Text without tabs is unchanged.
    assert_eq!(
        extract_text("a b\nc", "https://x.example/").markdown,
        "a b\nc"
    );
}

#[test]
fn dates_as_pages_write_them() {
    assert_eq!(parse_date("2021-07-04T10:00:00-04:00"), date(2021, 7, 4));
    assert_eq!(
        parse_date("Tue, 05 Mar 2024 10:00:00 GMT"),
        date(2024, 3, 5)
    );
    assert_eq!(parse_date("March 5th, 2024"), date(2024, 3, 5));
    assert_eq!(parse_date("5 March 2024"), date(2024, 3, 5));
    assert_eq!(parse_date("Published: 2024.03.05"), None);
    assert_eq!(parse_date("2024.03.05"), date(2024, 3, 5));
    assert_eq!(parse_date("13 Monkeys"), None);
    assert_eq!(parse_date("2024-02-30"), None);
}

#[test]
fn markdown_to_text_strips_syntax() {
    assert_eq!(
        markdown_to_text("## A *b* [c](https://d.example/e_(f))\n\n> - `g_h` \\* i"),
        "A b c\n\ng_h * i"
    );
}

// ---------------------------------------------------------------------------------------
// Passages

fn doc(markdown: &str, title: Option<&str>) -> Extracted {
    Extracted {
        title: title.map(str::to_string),
        markdown: markdown.to_string(),
        ..Extracted::default()
    }
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

#[test]
fn passages_follow_headings_and_merge_short_blocks() {
    let md = "Intro one.\n\nIntro two.\n\n## First section\n\nAlpha paragraph.\n\nBeta paragraph.\n\n### Sub\n\nGamma paragraph.\n\n## Empty\n\n## Last\n\nDelta.";
    let ps = passages(&doc(md, Some("The Title")), 1000);
    let got: Vec<(&str, Option<&str>)> = ps
        .iter()
        .map(|p| (p.text.as_str(), p.heading.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("Intro one.\n\nIntro two.", Some("The Title")),
            ("Alpha paragraph.\n\nBeta paragraph.", Some("First section")),
            ("Gamma paragraph.", Some("Sub")),
            ("Delta.", Some("Last")),
        ]
    );
    for p in &ps {
        assert!(
            md[p.offset..].starts_with(&p.text),
            "offset of {:?}",
            p.text
        );
    }
    // Without room to merge, each block is its own passage.
    let ps = passages(&doc(md, None), 20);
    assert_eq!(ps[0].text, "Intro one.");
    assert_eq!(ps[0].heading, None);
    assert_eq!(ps[1].text, "Intro two.");
}

#[test]
fn long_paragraphs_split_at_sentences_within_the_limit() {
    let sentences: Vec<String> = (0..40)
        .map(|i| format!("Sentence number {i} tells the reader something about widgets."))
        .collect();
    let para = sentences.join(" ");
    let md = format!("# Widgets\n\n{para}");
    let e = doc(&md, None);
    let ps = passages(&e, 200);
    assert!(ps.len() >= 10, "{}", ps.len());
    for p in &ps {
        assert!(
            p.text.chars().count() <= 200,
            "{} chars",
            p.text.chars().count()
        );
        assert!(
            p.text.ends_with("widgets."),
            "cut mid-sentence: {:?}",
            p.text
        );
        assert!(p.text.starts_with("Sentence number "), "{:?}", p.text);
        assert_eq!(p.heading.as_deref(), Some("Widgets"));
        assert!(md[p.offset..].starts_with(&p.text));
    }
    // Nothing lost, nothing duplicated.
    let all: Vec<&str> = ps.iter().flat_map(|p| words(&p.text)).collect();
    assert_eq!(all, words(&para));
}

#[test]
fn passages_never_cut_words() {
    // No sentence ends at all: cuts fall between words.
    let text: String = (0..300)
        .map(|i| format!("word{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    let ps = passages(&doc(&text, None), 57);
    for p in &ps {
        assert!(p.text.chars().count() <= 57);
        assert!(!p.text.starts_with(' ') && !p.text.ends_with(' '));
    }
    let all: Vec<&str> = ps.iter().flat_map(|p| words(&p.text)).collect();
    assert_eq!(all, words(&text), "a word was cut or lost");

    // Multi-byte text is cut at character boundaries and counted in characters.
    let greek = "Η γρήγορη καφέ αλεπού πηδά πάνω από τον τεμπέλη σκύλο. ".repeat(20);
    for p in passages(&doc(&greek, None), 60) {
        assert!(p.text.chars().count() <= 60);
        assert!(greek.contains(&p.text));
    }

    // A single token longer than the limit is the only thing ever cut.
    let token = "x".repeat(130);
    let ps = passages(&doc(&format!("short words {token} end"), None), 50);
    assert!(ps.iter().all(|p| p.text.chars().count() <= 50));
    assert_eq!(
        ps.iter()
            .map(|p| p.text.replace(' ', ""))
            .collect::<String>(),
        format!("shortwords{token}end")
    );

    // A limit of zero does not loop forever.
    assert!(!passages(&doc("a b", None), 0).is_empty());
}

#[test]
fn long_tables_and_code_split_with_context() {
    let mut table = String::from("| Year | Tonnage |\n| --- | --- |");
    for y in 1990..2030 {
        table.push_str(&format!("\n| {y} | {} |", y * 3));
    }
    let mut code = String::from("```python");
    for i in 0..40 {
        code.push_str(&format!("\nvalue_{i} = compute({i})"));
    }
    code.push_str("\n```");
    let md = format!("## Data\n\n{table}\n\n## Code\n\n{code}");
    let ps = passages(&doc(&md, None), 150);
    let tables: Vec<_> = ps
        .iter()
        .filter(|p| p.heading.as_deref() == Some("Data"))
        .collect();
    let codes: Vec<_> = ps
        .iter()
        .filter(|p| p.heading.as_deref() == Some("Code"))
        .collect();
    assert!(tables.len() > 1 && codes.len() > 1);
    let mut rows = 0;
    for p in &tables {
        assert!(p.text.chars().count() <= 150);
        assert!(
            p.text.starts_with("| Year | Tonnage |\n| --- | --- |\n| "),
            "{:?}",
            p.text
        );
        rows += p.text.lines().count() - 2;
    }
    assert_eq!(rows, 40, "every row exactly once");
    let mut lines = 0;
    for p in &codes {
        assert!(p.text.chars().count() <= 150);
        assert!(
            p.text.starts_with("```python\nvalue_") && p.text.ends_with("\n```"),
            "{:?}",
            p.text
        );
        lines += p.text.lines().count() - 2;
    }
    assert_eq!(lines, 40);
    // Offsets point at the first row or line of each piece, in order.
    let offsets: Vec<usize> = ps.iter().map(|p| p.offset).collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]), "{offsets:?}");
    assert!(
        md[tables[1].offset..].starts_with("| 19") || md[tables[1].offset..].starts_with("| 20")
    );
    assert!(md[codes[1].offset..].starts_with("value_"));
}

#[test]
fn passages_of_a_real_page() {
    let e = extract_html(
        &fixture("jsonld_article.html"),
        "https://wq.example/mammals/vessen-hare",
    );
    let ps = passages(&e, 300);
    assert!(ps.len() >= 4);
    for p in &ps {
        assert!(p.text.chars().count() <= 300);
        assert!(!p.text.contains("## "), "a heading inside {:?}", p.text);
        assert!(e.markdown[p.offset..].starts_with(&p.text));
    }
    let find = |needle: &str| {
        ps.iter()
            .find(|p| p.text.contains(needle))
            .unwrap_or_else(|| panic!("no passage has {needle:?}"))
    };
    assert_eq!(
        find("The survey's authors credit two changes.")
            .heading
            .as_deref(),
        Some("Why the hares came back")
    );
    assert_eq!(
        find("radio collars").heading.as_deref(),
        Some("What happens next")
    );
    assert_eq!(
        find("Vessen hare was known on the Orrin uplands")
            .heading
            .as_deref(),
        Some("The quiet return of the Vessen hare")
    );
}

#[test]
fn adversarial_pages_stay_fast() {
    // Thousands of consent-like buttons, deep nests of boilerplate-named elements, and
    // thousands of comment headings: every guard must stay cheap.
    let mut s = String::from("<html><body>");
    for i in 0..1500 {
        s.push_str(&format!(
            "<div class=\"box\"><p>We use cookies in box {i}.</p><a href=\"#\">Close</a><button>OK</button></div>"
        ));
    }
    // As deep as a page may be before it counts as hostile, then many siblings.
    for _ in 0..240 {
        s.push_str("<div class=\"sidebar related\"><span>x</span>");
    }
    for _ in 0..240 {
        s.push_str("</div>");
    }
    for i in 0..3000 {
        s.push_str(&format!(
            "<div class=\"share-bar\"><a href=\"/s/{i}\">Share {i}</a></div>"
        ));
    }
    s.push_str("<article><h1>The real story</h1>");
    for i in 0..30 {
        s.push_str(&format!(
            "<p>Paragraph {i} of the real story, long enough to be read as content by any extractor that looks.</p>"
        ));
    }
    s.push_str("</article>");
    for i in 0..1500 {
        s.push_str(&format!(
            "<section><h3>{i} Comments</h3><p>comment text {i}</p></section>"
        ));
    }
    s.push_str("</body></html>");
    let t = Instant::now();
    let e = extract_html(&s, URL);
    let dt = t.elapsed();
    println!("adversarial page of {} KB: {dt:?}", s.len() / 1024);
    assert!(
        e.text.contains("Paragraph 29 of the real story"),
        "{}",
        e.text
    );
    assert!(!e.text.contains("comment text"));
    let bound = if cfg!(debug_assertions) { 8_000 } else { 800 };
    assert!(dt < Duration::from_millis(bound), "{dt:?}");
}

/// A paragraph of Chinese text (no spaces between words), `n` sentences long.
fn chinese_paragraph(topic: &str, n: usize) -> String {
    let sentence = format!(
        "{topic}的港口今年吞吐量比去年增长了百分之十二，市政府表示将继续扩建码头并改善交通。"
    );
    sentence.repeat(n)
}

#[test]
fn articles_in_scripts_without_spaces_are_not_taken_for_empty_ones() {
    // A page whose paragraphs have no spaces: counted in whitespace-separated words, the
    // article readability finds would look like a handful of words, and the whole body
    // (footer disclaimers included) would be used instead.
    let mut html = String::from(
        "<!DOCTYPE html><html lang=zh><head><meta charset=utf-8><title>港口吞吐量创新高 - 海港日报</title></head><body>\
         <div class=top><ul>",
    );
    for s in [
        "首页", "时政", "财经", "体育", "文化", "视频", "专栏", "图片", "评论", "国际", "科技",
        "旅游",
    ] {
        html.push_str(&format!("\n<li><a href=\"/{s}\">{s}</a></li>"));
    }
    html.push_str("\n</ul></div>\n<div class=wrap><div class=left>\n<h1>港口吞吐量创新高</h1>");
    for topic in ["东港", "西港", "南港", "北港", "新港"] {
        html.push_str(&format!("\n<p>{}</p>", chinese_paragraph(topic, 3)));
    }
    html.push_str(
        "\n</div></div>\n<div class=bottom>\n<p>本网站所载内容版权归海港日报所有，未经书面授权禁止转载、摘编或以其他方式使用，违者必究。如需使用请与本网联系。</p>\n\
         <p>海港日报版权所有</p></div></body></html>",
    );
    let e = extract_html(&html, "https://www.haigang.example/2024/05/port.html");
    assert_text_has(
        &e,
        &[&chinese_paragraph("东港", 3), &chinese_paragraph("新港", 3)],
    );
    assert_lacks(&e, &["未经书面授权禁止转载", "海港日报版权所有", "首页"]);
    assert_clean(&e);
}

#[test]
fn captions_and_player_chrome_go_with_the_media_and_subheadings_stay() {
    let para = |s: &str| {
        format!(
            "<p class=\"paragraph\">{s} The harbour authority published the figures on Monday, \
             and the port's operators said the new cranes had doubled the rate at which ships \
             could be unloaded during the busiest weeks of the autumn.</p>"
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Port traffic hits a record - The Coastal Herald</title></head><body>\
         <article><h1>Port traffic hits a record</h1><div class=\"article__content\">{}\
         <figure class=\"media-landscape has-caption\"><img src=\"/crane.jpg\" alt=\"\">\
         <span class=\"off-screen\">Image copyright</span><span class=\"image-copyright\">Harbour Photo Agency</span>\
         <figcaption><span class=\"off-screen\">Image caption</span> A new crane lifts its first container.</figcaption></figure>\
         {}\
         <div class=\"video-resource\"><div class=\"video-resource__headline\">Watch the first ship dock at the new berth</div>\
         <span class=\"video-resource__duration\">02:12</span></div>\
         <h2 class=\"subheader\" id=\"what-comes-next\">What comes next for the harbour</h2>\
         {}{}</div></article></body></html>",
        para("Traffic through the port reached a record last year."),
        para("The rise came mostly from container ships."),
        para("A second berth is planned for 2026."),
        para("Its cost has not been announced."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Traffic through the port reached a record last year.",
            "## What comes next for the harbour",
            "Its cost has not been announced.",
        ],
    );
    assert_lacks(
        &e,
        &[
            "A new crane lifts its first container",
            "Image caption",
            "Image copyright",
            "Watch the first ship dock",
            "02:12",
        ],
    );
    assert_clean(&e);
}

#[test]
fn a_short_article_among_link_lists_is_not_traded_for_the_whole_page() {
    // A short (paywalled) story in a page whose menus and link lists hold many times more
    // words: the page as a whole, once its link lists are pruned, is no better an answer.
    let list = |topic: &str| {
        let items: String = (0..30)
            .map(|i| {
                format!(
                    "<li><a href=\"/{topic}/{i}\">{topic} story number {i} of the week</a></li>"
                )
            })
            .collect();
        format!("<div class=\"box\"><ul>{items}</ul></div>")
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Harbour dredging deal signed - The Coastal Herald</title></head><body>\
         <div class=\"wrap\">{}{}\
         <div class=\"story-text\"><p>The harbour board signed the dredging contract on Tuesday after two years \
         of talks with the three bidders, and work on the outer channel is due to begin in the spring.</p>\
         <p>The board said the deeper channel would let larger container ships call at the port, which has \
         lost traffic to its neighbours since the last recession, and it expects the cost to be shared.</p></div>\
         <div class=\"paywall\"><p>Subscribe to keep reading.</p></div>\
         {}{}</div>\
         <div class=\"site-bottom\"><h2>Sister sites of the Herald group</h2><span>Herald Media Ltd. No reproduction without permission.</span></div>\
         </body></html>",
        list("politics"),
        list("business"),
        list("sport"),
        list("culture"),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "The harbour board signed the dredging contract",
            "it expects the cost to be shared.",
        ],
    );
    assert_lacks(&e, &["Sister sites", "No reproduction", "story number"]);
    assert_clean(&e);
}

/// Link lists that outweigh a story in plain characters (a mega menu and a site map in
/// `<div>`s no class name gives away).
fn site_chrome(n: usize) -> String {
    let list = |topic: &str| -> String {
        let items: String = (0..n)
            .map(|i| {
                format!("<li><a href=\"/{topic}/{i}\">{topic} page number {i} of the site</a></li>")
            })
            .collect();
        format!("<div class=\"box\"><ul>{items}</ul></div>")
    };
    format!("{}{}{}", list("shop"), list("guides"), list("about"))
}

#[test]
fn a_content_column_named_like_a_sidebar_or_widget_stays() {
    // Page builders and layouts name the story's column after its place or its kind
    // (`l-sidebar-fixed l-article-body`, `elementor-widget-container`): when it holds most of
    // the page's prose, the name does not make it boilerplate.
    for class in [
        "l-sidebar-fixed l-article-body",
        "elementor-widget-container",
    ] {
        let html = format!(
            "<!DOCTYPE html><html><head><title>Dune walk - Coastal Trails</title></head><body>\
             <div class=\"top\">{}</div>\
             <div class=\"{class}\">\
             <p>The dune walk starts at the old lifeboat station and follows the marram ridge north \
             for four kilometres, with the sea on your left for most of the way.</p>\
             <p>After the second footbridge the path drops to the beach; at high tide take the inland \
             track through the pines instead, which adds twenty minutes.</p>\
             <p>There is no water on the route, so carry enough for the return, and keep dogs on a \
             lead between April and July while the terns are nesting.</p></div>\
             <div class=\"bottom\">{}</div></body></html>",
            site_chrome(25),
            site_chrome(15),
        );
        let e = extract_html(&html, URL);
        assert_has(
            &e,
            &[
                "The dune walk starts at the old lifeboat station",
                "take the inland track",
                "while the terns are nesting.",
            ],
        );
        assert_lacks(&e, &["page number"]);
        assert_clean(&e);
    }
}

#[test]
fn a_bem_modifier_does_not_make_a_section_boilerplate() {
    // `report__section--ads`: a section of the report that has room for ads, not an ad.
    let section = |title: &str, s: &str| {
        format!(
            "<section class=\"report__section report__section--ads\"><h2>{title}</h2>\
             <p>{s} We grilled six steaks on the plate at full power and measured the surface \
             temperature every minute with an infrared thermometer.</p></section>"
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Table grill test - Gadget Review</title></head><body>\
         <div class=\"report\"><h1>Table grill test</h1>{}{}{}</div></body></html>",
        section("Heat", "The centre of the plate gets very hot."),
        section("Cleaning", "The plate goes in the dishwasher."),
        section("Verdict", "A good grill for small kitchens."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "The centre of the plate gets very hot.",
            "The plate goes in the dishwasher.",
            "A good grill for small kitchens.",
        ],
    );
    assert_clean(&e);
}

#[test]
fn text_set_off_by_line_breaks_counts_as_prose() {
    // An old blog writes its post as text and `<br>`s in a `<div>`, inside a container its
    // platform calls a widget, among link lists that outweigh it.
    let line = |s: &str| {
        format!(
            "{s} The allotment has finally given us more beans than we can eat, and the \
             neighbours have stopped answering the door when they see us coming.<br><br>"
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Bean season - Plot 42</title></head><body>\
         <div class=\"top\">{}</div>\
         <div class=\"widget Blog\"><div class=\"post\"><h3>Bean season</h3>\
         <div class=\"post-text\">{}{}{}</div></div></div>\
         <div class=\"bottom\">{}</div></body></html>",
        site_chrome(25),
        line("Runner beans everywhere."),
        line("We froze the rest."),
        line("Next year: fewer beans."),
        site_chrome(15),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Runner beans everywhere.",
            "We froze the rest.",
            "Next year: fewer beans.",
        ],
    );
    assert_lacks(&e, &["page number"]);
    assert_clean(&e);
}

#[test]
fn an_accordion_marked_as_a_tablist_keeps_its_panels() {
    // Bootstrap accordions put `role="tablist"` on the group that holds the panels of text.
    let panel = |title: &str, s: &str| {
        format!(
            "<div class=\"panel\"><div class=\"panel-heading\" role=\"tab\"><h4>{title}</h4></div>\
             <div class=\"panel-collapse collapse\" role=\"tabpanel\"><div class=\"panel-body\">\
             <p>{s} The number of people out of work fell in November for the third month in a \
             row, the agency said, helped by hiring in retail and logistics.</p></div></div></div>"
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Labour market in November - Job Agency</title></head><body>\
         <main><h1>Labour market in November</h1>\
         <div class=\"panel-group\" role=\"tablist\">{}{}</div></main></body></html>",
        panel("Unemployment", "Unemployment fell by 60,000."),
        panel("Vacancies", "Vacancies rose by four per cent."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Unemployment fell by 60,000.",
            "Vacancies rose by four per cent.",
        ],
    );
    assert_clean(&e);
}

#[test]
fn related_comment_and_share_labels_are_recognised_in_other_languages() {
    let para = |s: &str| {
        format!(
            "<p>{s} Der Gemeinderat hat am Dienstagabend nach langer Debatte beschlossen, die \
             Uferpromenade bis zum Sommer umzubauen und die alten Laternen zu ersetzen.</p>"
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Promenade wird umgebaut - Seeblatt</title></head><body>\
         <article><h1>Promenade wird umgebaut</h1>{}{}{}\
         <section><h3>Mehr zum Thema</h3><p><a href=\"/a/1\">Neue Radwege am See</a> Die Stadt \
         plant zwei Radwege entlang des Ufers.</p></section>\
         <div><h3>Laisser un commentaire</h3><p>Votre adresse e-mail ne sera pas publiée.</p></div>\
         <p>Artikel teilen</p></article></body></html>",
        para("Die Promenade wird umgebaut."),
        para("Die Kosten trägt zur Hälfte das Land."),
        para("Die Arbeiten beginnen im März."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Die Promenade wird umgebaut.",
            "Die Arbeiten beginnen im März.",
        ],
    );
    assert_lacks(
        &e,
        &[
            "Mehr zum Thema",
            "Radwege",
            "Laisser un commentaire",
            "ne sera pas publiée",
            "Artikel teilen",
        ],
    );
    assert_clean(&e);
}

#[test]
fn prompts_and_labels_outside_headings_go_with_the_small_box_they_open() {
    let para = |s: &str| {
        format!(
            "<p>{s} Bumblebees nest in old mouse holes, under sheds and in compost heaps, and a \
             garden with early flowers helps the queens through the first weeks of spring.</p>"
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Helping bumblebees - Garden Notes</title></head><body>\
         <article><h1>Helping bumblebees</h1>{}\
         <p><strong>Lesen Sie auch:</strong> <a href=\"/a/9\">Wildbienen im Balkonkasten</a></p>\
         {}{}\
         <div class=\"box\"><p>Möchten Sie den Artikel teilen?</p><a href=\"https://fb.example/s\">f</a></div>\
         <div class=\"rate\"><span>War der Artikel nützlich?</span><a href=\"#yes\">Ja</a></div>\
         </article></body></html>",
        para("Plant willows and crocuses."),
        para("Leave some lawn uncut."),
        para("Do not move a nest."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Plant willows and crocuses.",
            "Leave some lawn uncut.",
            "Do not move a nest.",
        ],
    );
    assert_lacks(
        &e,
        &[
            "Lesen Sie auch",
            "Wildbienen",
            "Möchten Sie den Artikel teilen",
            "War der Artikel nützlich",
        ],
    );
    assert_clean(&e);
}

#[test]
fn a_related_heading_at_the_end_of_a_post_takes_only_what_it_introduces() {
    // A page of several posts, each ending in "Verwandte Artikel": the heading closes the
    // post, it does not open it, so the post stays.
    let post = |title: &str, first: &str| {
        format!(
            "<div class=\"post\"><h2>{title}</h2><div class=\"text\">\
             <p>{first} We took the early ferry to the island and walked the cliff path to the \
             lighthouse, which opens to visitors on the first Sunday of each month.</p>\
             <p>The keeper showed us the lamp room and the logbooks, kept since the light was \
             first lit, and the view from the gallery reached the mainland hills.</p>\
             <h4>Verwandte Artikel</h4><ul><li><a href=\"/p/{title}\">Another walk</a></li></ul>\
             </div></div>"
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Island notes</title></head><body>{}{}{}</body></html>",
        post("Lighthouse", "Lighthouse day."),
        post("Harbour", "Harbour day."),
        post("Beach", "Beach day."),
    );
    let e = extract_html(&html, URL);
    // Readability picks one post of the three; it must still be there.
    assert_has(&e, &["Lighthouse day.", "the view from the gallery"]);
    assert_lacks(&e, &["Verwandte Artikel", "Another walk"]);
    assert_clean(&e);
}

#[test]
fn author_lists_submitted_lines_and_info_lines_are_bylines() {
    let para = |s: &str| {
        format!(
            "<p>{s} The council met on Tuesday evening to discuss the budget for the coming \
             year, and members spoke at length about roads, schools and the harbour.</p>"
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Council passes budget - The Coastal Herald</title></head><body>\
         <article><h1>Council passes budget</h1>\
         <div class=\"article__info\"><div class=\"info-item time\">Today, 17:40</div>\
         <div class=\"info-item category\"><a href=\"/local/\">Local</a></div></div>\
         <div class=\"info-item authors\"><strong>Authors:</strong> <a href=\"/a/jo\">Jo Reyes</a> <em>(city desk)</em></div>\
         <span class=\"submitted-by\">Submitted on Mon, 2019-01-21 13:49</span>\
         <div class=\"story-timestamp\">Wednesday 28 August 2013, last updated 14:00</div>\
         {}{}{}</article></body></html>",
        para("The budget passed by seven votes to two."),
        para("Road repairs get the largest share."),
        para("Schools get a new roof fund."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "The budget passed by seven votes to two.",
            "Schools get a new roof fund.",
        ],
    );
    assert_lacks(
        &e,
        &[
            "Today, 17:40",
            "Authors:",
            "Jo Reyes",
            "Submitted on",
            "last updated",
        ],
    );
    assert_clean(&e);
}

#[test]
fn trailing_link_lists_and_follow_us_boxes_go_and_prose_with_links_stays() {
    let html = "<!DOCTYPE html><html><head><title>Ferry fares rise - The Coastal Herald</title></head><body>\
         <article><h1>Ferry fares rise</h1>\
         <p>Ferry fares will rise by eight per cent in March, the operator said on Monday, blaming \
         the cost of fuel and of the new terminal at the north pier.</p>\
         <p>The council, which <a href=\"/council\">subsidises the route</a>, said it would review \
         the increase; the <a href=\"/union\">crew's union</a> welcomed a promised pay rise.</p>\
         <p><strong>Related</strong><br><a href=\"/a/1\">Ferry operator posts record loss</a><br>\
         <a href=\"/a/2\">North pier terminal opens after two-year delay</a></p>\
         <div>Follow the Herald:<br>Facebook https://fb.me/coastalherald<br>\
         Twitter https://twitter.com/coastalherald<br>LINE id = @coastalherald</div>\
         </article></body></html>";
    let e = extract_html(html, URL);
    assert_has(
        &e,
        &[
            "Ferry fares will rise by eight per cent",
            "subsidises the route",
            "promised pay rise.",
        ],
    );
    assert_lacks(
        &e,
        &[
            "record loss",
            "two-year delay",
            "Follow the Herald",
            "fb.me",
            "@coastalherald",
        ],
    );
    assert_clean(&e);
}

#[test]
fn a_dateline_opening_the_story_is_left_out() {
    let para = |s: &str| {
        format!(
            "<p>{s} Fighters took control of two depots near the capital late on Friday, \
             according to opposition groups, after a night of heavy clashes.</p>"
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Depots seized - The Coastal Herald</title></head><body>\
         <div class=\"story\"><h1>Depots seized</h1>\
         <div class=\"stamp\">Wednesday, 28 August 2013, last updated 14:00 (GMT+0400)</div>\
         {}{}{}</div></body></html>",
        para("Opposition fighters seized two weapons depots."),
        para("No casualties were reported."),
        para("The coalition called for restraint."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Opposition fighters seized two weapons depots.",
            "The coalition called for restraint.",
        ],
    );
    assert_lacks(&e, &["last updated 14:00", "GMT+0400"]);
    assert_clean(&e);
}

#[test]
fn text_only_inside_noscript_is_read() {
    let para = |s: &str| {
        format!(
            "<p>{s} The council approved the budget for the new footbridge after a long \
             debate about its cost, its design and the years of delay behind it.</p>"
        )
    };
    let body: String = (1..=8)
        .map(|i| para(&format!("Point {i} of the report.")))
        .collect();
    let html = format!(
        "<!DOCTYPE html><html><head><title>Footbridge approved</title></head><body>\
         <div id=\"app\"></div><script>render(document.getElementById('app'));</script>\
         <noscript><article><h1>Footbridge approved</h1>{body}</article></noscript>\
         </body></html>"
    );
    let e = extract_html(&html, URL);
    assert_text_has(&e, &["Point 1 of the report.", "Point 8 of the report."]);
    assert_lacks(&e, &["render(document"]);
    assert_clean(&e);
}

#[test]
fn a_standfirst_in_the_article_header_opens_the_text() {
    // The lead sits in the article's `<header>` (or a heading module beside the body), a
    // sibling readability scores low; the breadcrumb trail and the caption in the same
    // header are not leads.
    let body: String = (0..6)
        .map(|i| {
            format!(
                "<p>Paragraph {i} of the report: the ferry operator said the crossing would run \
                 on a reduced timetable until the new pontoon is delivered, and that passengers \
                 with bicycles should book ahead, since space on deck is limited.</p>"
            )
        })
        .collect();
    let html = format!(
        "<!DOCTYPE html><html><head><title>Ferry timetable cut until spring</title></head><body>\
         <nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav>\
         <article><header>\
         <div class=\"crumbs\"><a href=\"/\">Home</a> <a href=\"/news\">News</a> Ferry timetable \
         cut until spring after the pontoon failed its inspection</div>\
         <h1>Ferry timetable cut until spring</h1>\
         <p class=\"intro\">The island's only <a href=\"/ferry\">car ferry</a> will sail four times a day instead of \
         nine until March, after the landing pontoon failed its annual inspection.</p>\
         <figure><img src=\"/p.jpg\"><figcaption>The pontoon at low tide last week, seen from \
         the harbour wall, with the ferry moored behind it.</figcaption></figure>\
         </header><div class=\"text\">{body}</div></article>\
         <footer>Contact the newsroom</footer></body></html>"
    );
    let e = extract_html(&html, URL);
    assert_text_has(
        &e,
        &[
            "will sail four times a day instead of nine until March",
            "Paragraph 0 of the report",
            "Paragraph 5 of the report",
        ],
    );
    assert!(
        e.text.find("four times a day") < e.text.find("Paragraph 0"),
        "the lead comes first:\n{}",
        e.text
    );
    assert_lacks(
        &e,
        &[
            "pontoon failed its inspection",
            "seen from the harbour wall",
        ],
    );
    // The lead's link is made absolute and listed, as the body's are.
    assert!(
        e.markdown.contains("[car ferry](https://"),
        "{}",
        e.markdown
    );
    assert!(
        e.links.iter().any(|l| l.url.ends_with("/ferry")),
        "{:?}",
        e.links
    );
}

/// Paragraphs of a German story about a village fair, each opened by `first`.
fn fair_para(first: &str) -> String {
    format!(
        "<p>{first} Das Dorffest auf dem Anger zog am Wochenende mehr Besucher an als je zuvor, \
         und die Vereine verkauften bis zum späten Abend Kuchen, Würste und Apfelmost.</p>"
    )
}

#[test]
fn consent_banners_answered_in_other_languages_go() {
    // The banner's class names nothing; its "Akzeptieren" button gives it away.
    let html = format!(
        "<!DOCTYPE html><html><head><title>Dorffest mit Rekord - Landbote</title></head><body>\
         <div class=\"wrap\"><h1>Dorffest mit Rekord</h1><div class=\"text\">{}{}{}</div></div>\
         <div class=\"bar bar-bottom\"><p>Durch die weitere Nutzung der Seite stimmst du der \
         Verwendung von Cookies zu. <a href=\"/datenschutz\">Weitere Informationen</a> \
         <button class=\"bar-btn\">Akzeptieren</button></p></div>\
         </body></html>",
        fair_para("Der Anger war voll."),
        fair_para("Die Feuerwehr half aus."),
        fair_para("Am Sonntag spielte die Kapelle."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &["Der Anger war voll.", "Am Sonntag spielte die Kapelle."],
    );
    assert_lacks(&e, &["Verwendung von Cookies", "Weitere Informationen"]);
    assert_clean(&e);
}

#[test]
fn author_boxes_post_footers_and_rating_widgets_go() {
    // An author box with a long biography (longer than a byline), WordPress's "This entry
    // was posted in" line and a rating widget, all inside the post's container.
    let bio = "Jana Beispiel schreibt seit zwanzig Jahren über das Leben auf dem Land, über \
               Vereine, Feste und die Landwirtschaft. Sie lebt mit ihrer Familie in einem \
               kleinen Dorf am Rand des Mittelgebirges und hält dort Bienen und drei Ziegen.";
    let html = format!(
        "<!DOCTYPE html><html><head><title>Dorffest mit Rekord - Landbote</title></head><body>\
         <div id=\"main\"><div class=\"post hentry\"><h1>Dorffest mit Rekord</h1>\
         <div class=\"entry-content\">{}{}{}\
         <span class=\"post-ratings\">(Noch keine Bewertungen)</span></div>\
         <div id=\"entry-author-info\"><img src=\"/jana.jpg\" alt=\"\"><h2>Über Jana Beispiel</h2>\
         <div id=\"author-description\"><p>{bio}</p></div></div>\
         <div class=\"entry-utility\">This entry was posted in <a href=\"/c/dorf\">Dorf</a>. \
         Bookmark the <a href=\"/p/1\">permalink</a>.</div>\
         </div></div></body></html>",
        fair_para("Der Anger war voll."),
        fair_para("Die Feuerwehr half aus."),
        fair_para("Am Sonntag spielte die Kapelle."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &["Der Anger war voll.", "Am Sonntag spielte die Kapelle."],
    );
    assert_lacks(
        &e,
        &[
            "Noch keine Bewertungen",
            "Über Jana Beispiel",
            "drei Ziegen",
            "This entry was posted",
        ],
    );
    assert_clean(&e);
}

#[test]
fn author_box_labels_and_links_back_to_the_list_go() {
    let html = format!(
        "<!DOCTYPE html><html><head><title>Dorffest mit Rekord - Landbote</title></head><body>\
         <article><h1>Dorffest mit Rekord</h1><div class=\"body\">{}{}{}\
         <p><a href=\"/aktuelles\">Zurück zur Übersicht</a></p>\
         <div class=\"col-12\" style=\"font-weight:bold\">Über den Autor</div>\
         {}</div></article></body></html>",
        fair_para("Der Anger war voll."),
        fair_para("Die Feuerwehr half aus."),
        fair_para("Am Sonntag spielte die Kapelle."),
        fair_para("Zurück ins Dorf kamen auch viele Weggezogene."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Der Anger war voll.",
            "Am Sonntag spielte die Kapelle.",
            "Zurück ins Dorf kamen auch viele Weggezogene.",
        ],
    );
    assert_lacks(&e, &["Zurück zur Übersicht", "Über den Autor"]);
    assert_clean(&e);
}

#[test]
fn teasers_of_other_pages_go_and_a_lead_called_teaser_stays() {
    let html = format!(
        "<!DOCTYPE html><html><head><title>Dorffest mit Rekord - Landbote</title></head><body>\
         <article><h1>Dorffest mit Rekord</h1>\
         <p class=\"teaser\">Mehr Besucher als je zuvor: das Dorffest auf dem Anger hat einen \
         Rekord aufgestellt, und die Vereine sind zufrieden.</p>{}\
         <p><section class=\"box teaser\"><a href=\"/markt\"><div class=\"teaser__content\">\
         <span class=\"teaser__headline\">So übersteht der Wochenmarkt den Winter</span>\
         </div></a></section></p>{}{}\
         <div class=\"article-tiles\"><div class=\"tile\"><a href=\"/kirmes\">Kirmes im \
         Nachbarort abgesagt</a></div><div class=\"tile\"><a href=\"/chor\">Der Chor sucht \
         neue Stimmen</a> <span>vor 2 Tagen</span></div></div>\
         </article></body></html>",
        fair_para("Der Anger war voll."),
        fair_para("Die Feuerwehr half aus."),
        fair_para("Am Sonntag spielte die Kapelle."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Mehr Besucher als je zuvor",
            "Der Anger war voll.",
            "Am Sonntag spielte die Kapelle.",
        ],
    );
    assert_lacks(&e, &["Wochenmarkt", "Kirmes", "Chor"]);
    assert_clean(&e);
}

#[test]
fn captions_of_image_containers_go_and_tables_and_paragraphs_beside_images_stay() {
    let long = "Der Festumzug begann um zehn Uhr am Feuerwehrhaus und zog durch die Hauptstraße \
                bis zum Anger, angeführt von der Blaskapelle und den Schützen, gefolgt von den \
                Wagen der Vereine, die das ganze Jahr über an ihren Motiven gebaut hatten. Der \
                Wagen der Landjugend zeigte den alten Dorfbrunnen, der Wagen des Sportvereins \
                ein Fußballtor aus Stroh. Am Ende des Zuges gingen die Kinder des Kindergartens \
                mit selbst gebastelten Laternen.";
    let html = format!(
        "<!DOCTYPE html><html><head><title>Dorffest mit Rekord - Landbote</title></head><body>\
         <div id=\"main\"><h1>Dorffest mit Rekord</h1><div class=\"content\">{}\
         <div class=\"imginline\"><img src=\"/anger.jpg\" alt=\"\"><span>Abbildung: Der volle \
         Anger am Samstagabend, vom Kirchturm aus gesehen.</span></div>{}\
         <div class=\"visual inline\"><picture><img src=\"/kuchen.jpg\" alt=\"\"></picture>\
         <div class=\"description\"><strong class=\"title\">Das Kuchenbuffet der Landfrauen \
         reichte bis zum Abend.</strong></div></div>\
         <figure class=\"table-block\"><table><tr><th>Jahr</th><th>Besucher</th></tr>\
         <tr><td>2021</td><td>1800</td></tr><tr><td>2022</td><td>2500</td></tr></table></figure>\
         <div class=\"image-text\"><img src=\"/zug.jpg\" alt=\"\"><p>{long}</p></div>\
         {}</div></div></body></html>",
        fair_para("Der Anger war voll."),
        fair_para("Die Feuerwehr half aus."),
        fair_para("Am Sonntag spielte die Kapelle."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Der Anger war voll.",
            "Am Sonntag spielte die Kapelle.",
            "Besucher",
            "2500",
            "Der Festumzug begann",
        ],
    );
    assert_lacks(&e, &["Abbildung:", "Kuchenbuffet"]);
    assert_clean(&e);
}

#[test]
fn a_widget_holding_the_post_body_stays() {
    // A blog platform wraps the post in a widget; the post is a poem of short lines set off
    // by `<br>`s (no line long enough to count as prose), among link lists that outweigh it.
    // The post body inside the widget, named as such, keeps it.
    let lines: String = [
        "The kettle sings at six",
        "the cat is at the door",
        "the frost has drawn its maps",
        "across the kitchen floor",
        "I wait for you to call",
        "the kettle sings again",
        "the maps melt into rivers",
        "and the window into rain",
    ]
    .iter()
    .map(|l| format!("{l}<br />"))
    .collect();
    let html = format!(
        "<!DOCTYPE html><html><head><title>Kettle - Small Poems</title></head><body>\
         <div class=\"top\">{}</div>\
         <div class=\"widget Blog\" id=\"Blog1\"><div class=\"post\"><h3>Kettle</h3>\
         <div class=\"post-body entry-content\">{lines}</div></div></div>\
         <div class=\"bottom\">{}</div></body></html>",
        site_chrome(25),
        site_chrome(15),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "The kettle sings at six",
            "the frost has drawn its maps",
            "and the window into rain",
        ],
    );
    assert_clean(&e);
}

#[test]
fn sections_named_after_the_table_of_contents_stay_and_the_table_goes() {
    // Each section of the article carries the id its table of contents links to
    // (`TOC_SECTION_2`): a name of navigation on prose does not make the prose navigation.
    let section = |n: usize, s: &str| {
        format!(
            "<h2>Step {n}</h2><div class=\"section-body\" id=\"TOC_SECTION_{n}\">\
             <p>{s} Work on a clean bench with the frame upside down, and keep the small parts in a \
             tray so that nothing rolls away while you work.</p>\
             <p>Check the result against the picture in the manual before you move on, and tighten \
             every bolt again after the first short ride around the block.</p>\
             <p>If anything feels loose or makes a noise, stop and go back one step.</p></div>"
        )
    };
    let toc: String = (1..=4)
        .map(|n| format!("<li><a href=\"#TOC_SECTION_{n}\">Step {n}</a></li>"))
        .collect();
    let html = format!(
        "<!DOCTYPE html><html><head><title>Fit a new chain - Bike Fixes</title></head><body>\
         <div class=\"top\">{}</div><div class=\"story\"><h1>Fit a new chain</h1>\
         <ul class=\"toc\">{toc}</ul>{}{}{}{}</div><div class=\"bottom\">{}</div></body></html>",
        site_chrome(20),
        section(1, "Take the old chain off with the chain tool."),
        section(2, "Count the links of the old chain."),
        section(3, "Thread the new chain over the smallest sprocket."),
        section(4, "Join the ends with the quick link."),
        site_chrome(10),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Take the old chain off with the chain tool.",
            "Count the links of the old chain.",
            "Thread the new chain over the smallest sprocket.",
            "Join the ends with the quick link.",
        ],
    );
    assert_lacks(&e, &["page number"]);
    assert_clean(&e);
}

#[test]
fn a_photo_story_named_as_a_gallery_keeps_its_text_and_drops_its_captions() {
    // A photo story's template names every block after the gallery it is: the text of each
    // picture stays, the credit under it (a caption) goes.
    let item = |s: &str| {
        format!(
            "<div class=\"photo-gallery__item\"><img src=\"/p.jpg\" alt=\"\">\
             <div class=\"photo-gallery__caption\">Photo: Studio Nord</div>\
             <div class=\"photo-gallery__text\">{s} The owners kept the original beams and \
             painted the walls a warm white, so the wood is what you notice first when you come \
             up the stairs.<br><br>The furniture is mostly second-hand, found over two years \
             at flea markets and restored by the owners themselves in the garage.<br><br>\
             Plants on the wide window sills make the most of the light that falls in through \
             the two skylights over the kitchen table.</div></div>"
        )
    };
    let html = format!(
        "<!DOCTYPE html><html><head><title>Five attic flats - Home Ideas</title></head><body>\
         <div class=\"top\">{}</div><div class=\"photo-gallery\"><h1>Five attic flats</h1>\
         {}{}{}{}{}</div><div class=\"bottom\">{}</div></body></html>",
        site_chrome(25),
        item("A flat under the roof in Leipzig."),
        item("A studio in an old mill."),
        item("A loft above a bakery."),
        item("Two rooms under a thatched roof."),
        item("An attic in a city tower block."),
        site_chrome(15),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "A flat under the roof in Leipzig.",
            "A loft above a bakery.",
            "An attic in a city tower block.",
        ],
    );
    assert_lacks(&e, &["Studio Nord", "page number"]);
    assert_clean(&e);
}

#[test]
fn photo_credits_and_lone_label_links_go_and_links_inside_sentences_stay() {
    let html = format!(
        "<!DOCTYPE html><html><head><title>Dorffest mit Rekord - Landbote</title></head><body>\
         <article><h1>Dorffest mit Rekord</h1>\
         <div class=\"meta\"><span>14. Juni 2022</span> <a href=\"#c\">12 Kommentare</a></div>\
         {}{}\
         <p>Der Bürgermeister <a href=\"/zitat\">kommentierte</a> den Besucherrekord knapp, und \
         der Ortsvorsteher <a href=\"/rede\">Kommentare</a> gab es auch vom Festausschuss.</p>\
         {}<p><em>Titelbild: A. Muster/Bildagentur</em></p>\
         <p>Fotos: Landbote/B. Beispiel</p></article></body></html>",
        fair_para("Der Anger war voll."),
        fair_para("Die Feuerwehr half aus."),
        fair_para("Am Sonntag spielte die Kapelle."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Der Anger war voll.",
            "Am Sonntag spielte die Kapelle.",
            "der Ortsvorsteher [Kommentare]",
        ],
    );
    assert_lacks(&e, &["12 Kommentare", "Titelbild", "Fotos:", "Bildagentur"]);
    assert_clean(&e);
}

#[test]
fn disclaimers_and_notices_under_a_post_go() {
    let html = format!(
        "<!DOCTYPE html><html><head><title>Dorffest mit Rekord - Landbote</title></head><body>\
         <article><h1>Dorffest mit Rekord</h1><div class=\"row\">{}{}{}\
         <div class=\"column community-notice\">Dieser Beitrag gibt die Meinung der Autorin \
         wieder, nicht notwendigerweise die der Redaktion.</div>\
         <div class=\"editorial-disclaimer\"><p>Hinweis: Bei den markierten Links handelt es sich \
         um Affiliate-Links.</p></div></div></article></body></html>",
        fair_para("Der Anger war voll."),
        fair_para("Die Feuerwehr half aus."),
        fair_para("Am Sonntag spielte die Kapelle."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &["Der Anger war voll.", "Am Sonntag spielte die Kapelle."],
    );
    assert_lacks(&e, &["Meinung der Autorin", "Affiliate-Links"]);
    assert_clean(&e);
}

#[test]
fn contact_boxes_under_a_press_release_go() {
    let html = format!(
        "<!DOCTYPE html><html><head><title>Dorffest mit Rekord - Landbote</title></head><body>\
         <div id=\"main\"><h1>Dorffest mit Rekord</h1><div class=\"text\">{}{}{}\
         <p>Wer beim nächsten Fest mithelfen will, kann über den Heimatverein Kontakt zum \
         Festausschuss aufnehmen, der ab März wieder jeden Monat tagt.</p>\
         <p><strong>Pressekontakt:</strong><br>Heimatverein Beispieldorf<br>Erika \
         Muster<br>Tel. 01234 56789</p></div></div></body></html>",
        fair_para("Der Anger war voll."),
        fair_para("Die Feuerwehr half aus."),
        fair_para("Am Sonntag spielte die Kapelle."),
    );
    let e = extract_html(&html, URL);
    assert_has(
        &e,
        &[
            "Der Anger war voll.",
            "Am Sonntag spielte die Kapelle.",
            "Kontakt zum Festausschuss",
        ],
    );
    assert_lacks(&e, &["Pressekontakt", "Erika", "01234"]);
    assert_clean(&e);
}
