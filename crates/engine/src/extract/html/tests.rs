//! Tests of the HTML pipeline and of its steps.

use super::names::{is_boilerplate_name, is_meta_name, name_strength};
use super::*;
use crate::extract::vocab;

#[test]
fn source_depth() {
    assert_eq!(
        estimated_depth("<div><div><p>x</p><br/></div><div></div></div>"),
        2
    );
    assert_eq!(
        estimated_depth("<script>'<div><div><div>'</script><div/><span>a</span>"),
        1
    );
    assert_eq!(estimated_depth(&"<div>".repeat(5000)), 5000);
    assert_eq!(estimated_depth(&"<p>".repeat(5000)), 0);
    assert_eq!(estimated_depth("<DIV><Div></dIv></div> < 3 <"), 2);
}

#[test]
fn bare_text_strips_tags() {
    let html = "<html><head><title>T</title><style>p{}</style></head><body><script>var x = '<p>';</script><p>A &amp; B</p><div>C&nbsp;D</div><p>unclosed";
    assert_eq!(bare_text(html), "A & B C D unclosed");
    assert_eq!(bare_text("<p>x</p><scr"), "x");
}

#[test]
fn boilerplate_names() {
    assert!(is_boilerplate_name("cookie-banner"));
    assert!(is_boilerplate_name("site-footer dark"));
    assert!(is_boilerplate_name("comments-section"));
    assert!(is_boilerplate_name("ad"));
    assert!(is_boilerplate_name("cookieConsent"));
    assert!(!is_boilerplate_name("commentary"));
    assert!(!is_boilerplate_name("header article-body"));
    assert!(!is_boilerplate_name("load-more head"));
    assert!(!is_boilerplate_name("shadow"));
    assert!(!is_boilerplate_name(
        "TestReport__Section TestReport__Section--Ads"
    ));
    assert!(is_boilerplate_name("ad-slot--top"));
    assert!(is_boilerplate_name("next-post-thumbnails"));
    assert!(is_boilerplate_name("nextstory"));
    // Navigation and gallery names are weak evidence; a comment name is not.
    assert_eq!(name_strength("TOC_TITLE_2"), Some(false));
    assert_eq!(name_strength("photo-gallery__item"), Some(false));
    assert_eq!(name_strength("gallery__item comment-box"), Some(true));
    assert_eq!(name_strength("image-caption"), Some(true));
    assert_eq!(name_strength("article-body"), None);
}

/// A page of one article: a headline, `body` and four paragraphs of prose around it.
fn article_page(body: &str) -> String {
    let para = "Der Gemeinderat hat am Dienstagabend lange über den neuen Radweg am \
                Fluss beraten, der die beiden Ortsteile verbinden soll und seit Jahren \
                gefordert wird.";
    format!(
        "<html><body><nav><a href=\"/\">Start</a></nav><article><h1>Radweg kommt</h1>\
         <p>{para}</p><p>{para} Die Kosten trägt das Land.</p>{body}\
         <p>{para} Im Frühjahr beginnen die Arbeiten.</p><p>{para} Ende.</p>\
         </article></body></html>"
    )
}

#[test]
fn a_story_list_of_one_link_per_paragraph_goes_with_its_label() {
    let html = article_page(
        "<h3>Mehr lesen:</h3><p><a href=\"/a\">Brücke wird saniert</a></p>\
         <p><a href=\"/b\">Neue Buslinie ab Mai</a></p>\
         <p><em>Diese Artikel könnten dich ebenfalls interessieren:</em></p>\
         <p><a href=\"/c\">Marktplatz wird grün</a></p>\
         <p>Mehr lesen Sie in der <a href=\"/zeitung\">Samstagsausgabe</a> über den \
         Streit um die Finanzierung des Projekts.</p>",
    );
    let e = extract(&html, "https://example.org/radweg");
    for gone in [
        "Brücke wird saniert",
        "Neue Buslinie",
        "Marktplatz",
        "Mehr lesen:",
    ] {
        assert!(!e.text.contains(gone), "{gone}: {}", e.text);
    }
    assert!(e.text.contains("Samstagsausgabe"), "{}", e.text);
    assert!(e.text.contains("Im Frühjahr beginnen"), "{}", e.text);
    // "Mehr lesen" with no links after it is left alone.
    let html = article_page("<h3>Weiterlesen</h3><p>Ein Satz ohne Link danach.</p>");
    let e = extract(&html, "https://example.org/radweg");
    assert!(e.text.contains("Ein Satz ohne Link"), "{}", e.text);
}

#[test]
fn legends_one_page_teasers_icon_links_and_meta_lines_go() {
    let html = article_page(
        "<div id=\"meta\"><p>Freitag | 14. Juni 2019 VON Eva Beispiel IN \
         <a href=\"/c/stadt\">Stadt</a> | 0 COMMENTS</p></div>\
         <div class=\"pic\"><img src=\"/a.jpg\"><div class=\"legend\">Der Fluss \
         bei Hochwasser im letzten Frühjahr. Foto © Eva Beispiel</div></div>\
         <div class=\"c-teaser\"><h3><a href=\"/bruecke\">Brücke wird saniert</a></h3>\
         <p>Die alte Brücke über den Fluss wird ab dem Sommer für ein halbes Jahr \
         gesperrt und von Grund auf saniert.</p><p><a href=\"/bruecke\">Mehr</a></p></div>\
         <a href=\"/presse\"><i class=\"fa fa-angle-left\"></i>zurück zur Listenansicht</a>",
    );
    let e = extract(&html, "https://example.org/radweg");
    for gone in [
        "Eva Beispiel",
        "bei Hochwasser",
        "Brücke",
        "halbes Jahr",
        "Listenansicht",
    ] {
        assert!(!e.text.contains(gone), "{gone}: {}", e.text);
    }
    assert!(e.text.contains("Im Frühjahr beginnen"), "{}", e.text);
    assert!(!is_meta_name("recipe-meta meta-info"));
    // A teaser whose links go to several pages, or to one page once, is left to the
    // share of its text in links.
    let one = "<p class=\"teaser\">Der Rat tagt <a href=\"/rat\">öffentlich</a> und \
               lädt alle Bürger ein, die Sitzung im großen Saal des Rathauses zu \
               verfolgen.</p>";
    let e = extract(&article_page(one), "https://example.org/radweg");
    assert!(e.text.contains("lädt alle Bürger ein"), "{}", e.text);
}

#[test]
fn a_related_label_before_one_link_goes_and_one_before_prose_stays() {
    let html = article_page(
        "<p><em>Czytaj też: <a href=\"/x\">Wyścig zbrojeń ruszył z kopyta, a Europa wciąż się \
         zastanawia</a></em></p>\
         <p>Lesen Sie auch: was der Kreistag im Herbst zur \
         <a href=\"/kreistag\">Finanzierung</a> beschlossen hat, und warum.</p>\
         <p>Quelle: Landesverband Radverkehr, 2. Februar 2022</p>",
    );
    let e = extract(&html, "https://example.org/radweg");
    for gone in ["Wyścig", "Landesverband Radverkehr"] {
        assert!(!e.text.contains(gone), "{gone}: {}", e.text);
    }
    assert!(e.text.contains("was der Kreistag im Herbst"), "{}", e.text);
}

#[test]
fn a_caption_beside_its_image_container_goes() {
    let alt = "Der Fluss bei Hochwasser im letzten Frühjahr, vom Steg aus gesehen";
    let html = article_page(&format!(
        "<figure><img src=\"/a.jpg\" alt=\"{alt}\"></figure>\
         <div><span>{alt}. Foto: Eva Beispiel</span></div>\
         <div><a href=\"/b\"><img src=\"/b.jpg\" alt=\"{alt} (2)\"></a></div>\
         <h2>{alt} (2)</h2>"
    ));
    let e = extract(&html, "https://example.org/radweg");
    assert!(!e.text.contains("Eva Beispiel"), "{}", e.text);
    // A heading that repeats an image's description is a title.
    assert!(e.text.contains("(2)"), "{}", e.text);
    assert!(e.text.contains("Im Frühjahr beginnen"), "{}", e.text);
}

#[test]
fn embedded_post_cards_and_finnish_read_more_lists_go() {
    let html = article_page(
        "<blockquote class=\"wp-embedded-content\"><p><a href=\"/p/1\">Brücke wird \
         saniert</a></p></blockquote>\
         <p><strong>Lue aiheesta lisää:</strong></p>\
         <p><a href=\"/u/2\">Karhut heräsivät jo talviuniltaan</a></p>",
    );
    let e = extract(&html, "https://example.org/radweg");
    for gone in ["Brücke wird saniert", "Karhut", "Lue aiheesta"] {
        assert!(!e.text.contains(gone), "{gone}: {}", e.text);
    }
    assert!(e.text.contains("Im Frühjahr beginnen"), "{}", e.text);
}

#[test]
fn headings() {
    assert!(vocab::is_comments_label("3 Comments"));
    assert!(vocab::is_comments_label("Comments (12)"));
    assert!(vocab::is_comments_label("Leave a Reply"));
    assert!(vocab::is_comments_label("5 thoughts on “Why we moved”"));
    assert!(!vocab::is_comments_label("Discussion"));
    assert!(!vocab::is_comments_label(
        "Comments on the proposal were mixed"
    ));
    assert!(vocab::is_related_label("Related stories"));
    assert!(vocab::is_related_label("More from Science"));
    assert!(vocab::is_related_label("Vorschau auf den nächsten Artikel"));
    assert!(vocab::is_related_label("Next post"));
    assert!(!vocab::is_related_label("Relativity explained"));
}

/// A paragraph of `n` words about one thing, so that pages below have prose to weigh.
fn sentence(n: usize, word: &str) -> String {
    let mut s = vec![word; n].join(" ");
    s.push('.');
    s
}

#[test]
fn an_article_of_teaser_links_does_not_outweigh_the_story() {
    let story: String = (0..3)
        .map(|i| format!("<p>{}</p>", sentence(28, &format!("bridge{i}"))))
        .collect();
    let teasers: String = (0..10)
        .map(|i| {
            format!(
                "<div class=\"slide\"><a href=\"/s{i}\"><h3>Kicker</h3><p>{}</p></a></div>",
                sentence(15, "elsewhere")
            )
        })
        .collect();
    let html = format!(
        "<html><body><div class=\"page\"><article class=\"story\"><h1>Harbour bridge \
         reopens</h1>{story}</article><article class=\"more\"><h3>Analysis, interviews\
         </h3>{teasers}</article></div></body></html>"
    );
    let e = extract(&html, "https://news.example/bridge");
    assert!(e.text.contains("bridge1 bridge1"), "{}", e.text);
    assert!(!e.text.contains("elsewhere"), "{}", e.text);
}

#[test]
fn the_standfirst_in_the_headline_article_above_the_body_stays() {
    let body: String = (0..3)
        .map(|i| format!("<p>Credit {}</p>", sentence(40, &format!("body{i}"))))
        .collect();
    let html = format!(
        "<html><body><article class=\"stage\"><div>Credit</div><h1>Lease or buy?</h1>\
         <p>{}</p></article><div class=\"basis\"><article class=\"text\"><h2>Pros and \
         cons</h2>{body}</article></div></body></html>",
        sentence(30, "standfirst")
    );
    let e = extract(&html, "https://money.example/lease");
    assert!(e.text.contains("standfirst standfirst"), "{}", e.text);
    assert!(e.text.contains("body2 body2"), "{}", e.text);
}

#[test]
fn a_kicker_found_in_the_body_does_not_end_the_lead() {
    let body: String = (0..6)
        .map(|i| format!("<p>Paragraph {}</p>", sentence(30, &format!("ferry{i}"))))
        .collect();
    let html = format!(
        "<html><body><nav><a href=\"/\">Home</a></nav><article><header>\
         <div>Paragraph</div><h1>Ferry timetable cut</h1><p>{}</p></header>\
         <div class=\"text\">{body}</div></article><footer>Contact</footer></body></html>",
        sentence(25, "intro")
    );
    let e = extract(&html, "https://news.example/ferry");
    assert!(e.text.contains("intro intro"), "{}", e.text);
    assert!(e.text.contains("ferry5 ferry5"), "{}", e.text);
}

#[test]
fn blocks_of_a_page_builder_named_widget_stay() {
    let widget = |kind: &str, inner: &str| {
        format!("<div class=\"pb-widget pb-widget-{kind}\"><div>{inner}</div></div>")
    };
    let mut post = widget("heading", "<h1>Summer earrings</h1>");
    for i in 0..3 {
        post.push_str(&widget(
            "text",
            &format!("<p>{}</p>", sentence(30, &format!("ear{i}"))),
        ));
        post.push_str(&widget("image", "<img src=\"e.jpg\">"));
    }
    let excerpts: String = (0..2)
        .map(|i| format!("<li><p>{}</p></li>", sentence(40, &format!("other{i}"))))
        .collect();
    let html = format!(
        "<html><body><div class=\"entry\"><div class=\"pb\">{post}</div></div>\
         <ul class=\"more\">{excerpts}</ul></body></html>"
    );
    let e = extract(&html, "https://blog.example/earrings");
    for i in 0..3 {
        let w = format!("ear{i} ear{i}");
        assert!(e.text.contains(&w), "{}", e.text);
    }
}
