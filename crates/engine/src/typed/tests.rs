use super::names::StringKind;

#[test]
fn a_founder_is_a_person_not_a_firm() {
    let string = super::FieldType::String;
    let founder = |passage: &str| {
        super::find_value(&string, passage, "founder founder company").map(|f| f.value)
    };
    assert_eq!(
        founder("The scanner's founder company Orrin Medical was set up in 1979."),
        None
    );
    assert_eq!(
        founder("Orrin Medical's founder Ilse Marr set it up in 1979."),
        Some(serde_json::json!("Ilse Marr"))
    );
    // The agent after "by" and a word or two of what they were.
    assert_eq!(
        founder("The firm was founded in Sondhaven in 1979 by the physicist Ilse Marr."),
        Some(serde_json::json!("Ilse Marr"))
    );
    // Nor a funding round or a single word.
    assert_eq!(
        founder("Its founder company raised a Series C round."),
        None,
        "\"Series C\" is no person"
    );
    assert!(super::could_be_a_person("J. R. Hale"));
    assert!(!super::could_be_a_person("Fringe"));
    // An owner may be a firm.
    let owner = super::find_value(&string, "Its owner is Orrin Medical.", "owner");
    assert_eq!(
        owner.map(|f| f.value),
        Some(serde_json::json!("Orrin Medical"))
    );
}

#[test]
fn a_rate_per_year_is_a_count_not_a_year() {
    let integer = super::FieldType::Integer;
    let found = super::find_value(
        &integer,
        "Opened in 2019, the scanner carries out about 6,500 scans a year.",
        "scans per year scans per year",
    );
    assert_eq!(found.map(|f| f.value), Some(serde_json::json!(6500)));
    let opened = super::find_value(
        &integer,
        "Opened in 2019, the scanner carries out about 6,500 scans a year.",
        "opened year year scanner opened",
    );
    assert_eq!(opened.map(|f| f.value), Some(serde_json::json!(2019)));
}

#[test]
fn an_earlier_figure_and_an_edition() {
    let integer = super::FieldType::Integer;
    let text = "The fair drew 61,000 spectators, up from 55,000 last year.";
    let value = |keys: &str| super::find_value(&integer, text, keys).map(|f| f.value);
    assert_eq!(
        value("attendance spectators"),
        Some(serde_json::json!(61000))
    );
    assert_eq!(
        value("previous year attendance attendance year before spectators"),
        Some(serde_json::json!(55000)),
        "the year before is asked for, not a year"
    );
    let edition = super::find_value(
        &integer,
        "The 51st Kessel Fair opens on the 3rd of May.",
        "edition edition number",
    );
    assert_eq!(edition.map(|f| f.value), Some(serde_json::json!(51)));
}

#[test]
fn titles_are_roles_not_names() {
    for role in [
        "Chief Technology Officer",
        "Chief Scientist",
        "Head of Research",
    ] {
        assert!(super::is_role(role), "{role}");
    }
    for name in ["Anselm Rooke", "Chief Rooke Smith"] {
        assert!(!super::is_role(name), "{name}");
    }
}

#[test]
fn a_count_of_two_kinds_is_not_a_count_of_one() {
    let integer = super::FieldType::Integer;
    let value = |passage: &str| {
        super::find_value(&integer, passage, "nurses number nurses").map(|f| f.value)
    };
    assert_eq!(
        value("The ward employs 160 nurses and doctors."),
        None,
        "160 is nurses and doctors together"
    );
    assert_eq!(
        value("The ward employs 160 nurses and 40 doctors."),
        Some(serde_json::json!(160))
    );
    assert_eq!(
        value("The ward employs 160 nurses and the board wants more."),
        Some(serde_json::json!(160))
    );
    // A verb after "and" starts another clause: the count stands.
    let arches = super::find_value(
        &integer,
        "Crews repointed all 7 arches and reinforced the piers.",
        "arches number arches",
    );
    assert_eq!(arches.map(|f| f.value), Some(serde_json::json!(7)));
}

#[test]
fn booleans_after_multibyte_characters() {
    // Each panicked: the word's offset counted the separator as one byte.
    let found = super::find_value(&super::FieldType::Boolean, "0😀no ", "year founded").unwrap();
    assert_eq!(
        (found.value, found.evidence.as_str()),
        (serde_json::json!(false), "no")
    );
    let found = super::find_value(&super::FieldType::Boolean, "Public — yes.", "public").unwrap();
    assert_eq!(
        (found.value, found.evidence.as_str()),
        (serde_json::json!(true), "yes")
    );
}

#[test]
fn enum_members_where_lower_casing_changes_lengths() {
    // "İ" lower-cases to three bytes, not two: offsets in the lower-cased text used to
    // point past the member in the passage, at the wrong words.
    let options = vec!["public".to_string(), "private".to_string()];
    let passage = "İİİİ İstanbul Holding is PUBLIC.";
    let found = super::find_value(&super::FieldType::Enum(options), passage, "status").unwrap();
    assert_eq!(
        (found.value, found.evidence.as_str()),
        (serde_json::json!("public"), "PUBLIC")
    );
}

#[test]
fn numbers_past_the_range_of_f64_are_not_values() {
    let huge = "9".repeat(310);
    for passage in [
        format!("Revenue was {huge}."),
        format!("Revenue was {huge} trillion."),
    ] {
        let found = super::find_value(&super::FieldType::Number, &passage, "revenue");
        assert_eq!(found, None, "{passage}");
    }
    let found = super::find_value(&super::FieldType::Number, &format!("{huge} or 42"), "").unwrap();
    assert_eq!(found.value, serde_json::json!(42));
}

#[test]
fn stem_eq_matches_the_lower_casing_definition() {
    // The definition, with allocations, that the streaming version must agree with.
    fn reference(a: &str, b: &str) -> bool {
        let (a, b) = (a.to_lowercase(), b.to_lowercase());
        if a.trim_end_matches('s') == b.trim_end_matches('s') {
            return true;
        }
        let common = a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
        common >= 5 && common * 4 >= a.chars().count().min(b.chars().count()) * 3
    }
    let words = [
        "",
        "s",
        "ss",
        "S",
        "employees",
        "Employs",
        "employ",
        "founded",
        "Founding",
        "revenue",
        "Revenues",
        "REVENUE",
        "staff",
        "Staffs",
        "İstanbul",
        "istanbul",
        "Straße",
        "STRASSE",
        "año",
        "Años",
        "population",
        "populations",
        "popular",
        "bus",
        "buses",
        "ÉCOLE",
        "écoles",
        "x",
        "xs",
    ];
    for a in words {
        for b in words {
            assert_eq!(super::stem_eq(a, b), reference(a, b), "{a:?} vs {b:?}");
        }
    }
    // keyword_spans finds exactly the words the definition accepts.
    let passage = words.join(" — ");
    for key in words.iter().filter(|w| !w.is_empty()) {
        let found: Vec<&str> = super::keyword_spans(&passage, &[key.to_string()])
            .into_iter()
            .map(|(at, end)| &passage[at..end])
            .collect();
        let expected: Vec<&str> = words
            .iter()
            .copied()
            .filter(|w| !w.is_empty() && reference(key, w))
            .collect();
        assert_eq!(found, expected, "key {key:?}");
    }
    assert!(super::stem_eq("Revenues", "revenue"));
    assert!(super::stem_eq("employees", "Employs"));
    assert!(!super::stem_eq("staff", "revenue"));
}

use super::*;
use serde_json::json;

#[test]
fn reads_types_from_schemas() {
    assert_eq!(
        FieldType::of(&json!({"type": "integer"})),
        FieldType::Integer
    );
    assert_eq!(
        FieldType::of(&json!({"type": ["number", "null"]})),
        FieldType::Number
    );
    assert_eq!(
        FieldType::of(&json!({"anyOf": [{"type": "null"}, {"type": "boolean"}]})),
        FieldType::Boolean
    );
    assert_eq!(
        FieldType::of(&json!({"type": "string", "format": "date"})),
        FieldType::Date
    );
    for description in [
        "Date the company was founded (YYYY-MM-DD)",
        "founding date, formatted yyyy-mm-dd",
        "The date of the election as an ISO 8601 date",
        "Release date in ISO-8601 date format",
        "Release date, ISO date",
    ] {
        assert_eq!(
            FieldType::of(&json!({"type": ["string", "null"], "description": description})),
            FieldType::Date,
            "{description}"
        );
    }
    for description in [
        "Date the company was founded",
        "ISO 3166 country code",
        "Time zone as an ISO 8601 offset",
    ] {
        assert_eq!(
            FieldType::of(&json!({"type": "string", "description": description})),
            FieldType::String,
            "{description}"
        );
    }
    assert_eq!(
        FieldType::of(&json!({"type": "string", "enum": ["a", "b"]})),
        FieldType::Enum(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        FieldType::of(&json!({"type": "array", "items": {"type": "integer"}})),
        FieldType::Array(Box::new(FieldType::Integer))
    );
    assert_eq!(FieldType::of(&json!({"type": "object"})), FieldType::Other);
    assert!(FieldType::nullable(&json!({"type": ["string", "null"]})));
    assert!(FieldType::nullable(
        &json!({"anyOf": [{"type": "string"}, {"type": "null"}]})
    ));
    assert!(!FieldType::nullable(&json!({"type": "string"})));
}

#[test]
fn numbers_with_scales_and_keywords() {
    let passage =
        "Founded in 1998, Zorblax employs 12,400 people. Its revenue was $3.1 trillion in 2023.";
    let found = find_value(&FieldType::Number, passage, "revenue").unwrap();
    assert_eq!(found.value, json!(3_100_000_000_000i64));
    assert_eq!(found.evidence, "3.1 trillion");
    assert!(found.plain);
    let staff = find_value(&FieldType::Integer, passage, "number of employees people").unwrap();
    assert_eq!(staff.value, json!(12400));
    let year = find_value(&FieldType::Integer, passage, "founded").unwrap();
    assert_eq!(year.value, json!(1998));
    assert_eq!(find_value(&FieldType::Number, "no digits here", "x"), None);
    assert_eq!(
        find_value(&FieldType::Number, "rate fell to 4.25% in May", "rate")
            .unwrap()
            .value,
        json!(4.25)
    );
    assert_eq!(
        find_value(&FieldType::Integer, "about 7.5 km", "distance"),
        None
    );
    assert_eq!(
        find_value(&FieldType::Number, "model X5 ships", "model"),
        None,
        "digits inside words are not numbers"
    );
}

#[test]
fn dates_in_three_spellings() {
    let p = "The company was founded on 5 March 2011 and listed on 2019-07-01. A merger followed on Aug 3, 2021.";
    assert_eq!(
        find_value(&FieldType::Date, p, "founded").unwrap().value,
        json!("2011-03-05")
    );
    assert_eq!(
        find_value(&FieldType::Date, p, "listed").unwrap().value,
        json!("2019-07-01")
    );
    assert_eq!(
        find_value(&FieldType::Date, p, "merger").unwrap().value,
        json!("2021-08-03")
    );
    assert_eq!(
        find_value(&FieldType::Date, "on 31 February 2020", "x"),
        None
    );
    assert_eq!(find_value(&FieldType::Date, "May we go?", "x"), None);
}

#[test]
fn dates_in_prose_and_numeric_spellings() {
    let date = |p: &str, k: &str| find_value(&FieldType::Date, p, k).map(|f| f.value);
    assert_eq!(
        date(
            "The quay reopened on the 13th of April 2024 after repairs.",
            "reopened"
        ),
        Some(json!("2024-04-13"))
    );
    assert_eq!(
        date("Opened: 13.4.2024", "opened"),
        Some(json!("2024-04-13"))
    );
    assert_eq!(
        date("Opened 03/11/2022", "opened"),
        Some(json!("2022-11-03"))
    );
    assert_eq!(
        date("Opened 12/25/2022", "opened"),
        Some(json!("2022-12-25"))
    );
    assert_eq!(date("Version 1.2.2024 ships", "version"), None);
    // Only the month is stated: the month, not an invented day.
    assert_eq!(
        date("The line was introduced in June 2021.", "introduced"),
        Some(json!("2021-06"))
    );
}

#[test]
fn codes_ranges_and_durations_are_not_counts() {
    let int = |p: &str, k: &str| find_value(&FieldType::Integer, p, k).map(|f| f.value);
    // The "7" of a product name is not a count, and never a negative one.
    assert_eq!(
        int("Products: Kestrel Arm, Loom-7 and HV-220.", "products"),
        None
    );
    assert_eq!(
        int("The range fell by -7 points.", "points"),
        Some(json!(-7))
    );
    assert_eq!(int("Staff 2019-2021: 40", "staff"), Some(json!(40)));
    // A duration answers only a field about time.
    assert_eq!(
        int("The stage took six days to build.", "stage employees"),
        None
    );
    assert_eq!(
        int(
            "An 18-month programme with three placements.",
            "programme months"
        ),
        Some(json!(18))
    );
}

#[test]
fn amounts_of_money_need_their_currency() {
    let num = |p: &str, k: &str| find_value(&FieldType::Number, p, k).map(|f| f.value);
    assert_eq!(num("Renovated: 2024", "renovation cost eur"), None);
    assert_eq!(
        num(
            "Renovated in 2024 for €46.5 million.",
            "renovation cost eur"
        ),
        Some(json!(46_500_000))
    );
    assert_eq!(
        num("Adult £12.50, child £6", "adult ticket gbp"),
        Some(json!(12.5))
    );
}

#[test]
fn a_capitalised_word_opening_a_sentence_is_not_a_name() {
    let name = |p: &str| find_value(&FieldType::String, p, "founder").map(|f| f.value);
    assert_eq!(name("Four days of music, and the founder is proud."), None);
    assert_eq!(
        name("Four days of music. Its founder is Declan Torvane."),
        Some(json!("Declan Torvane"))
    );
    // Capitalised elsewhere too: a one-word name at a sentence start is still one (an
    // organiser may be a town; a founder is a person with a full name).
    let organiser = |p: &str| find_value(&FieldType::String, p, "organiser").map(|f| f.value);
    assert_eq!(
        organiser("Organiser of the fair: Halbury. Visitors came from Halbury and beyond."),
        Some(json!("Halbury"))
    );
}

#[test]
fn sentences_do_not_end_at_abbreviations() {
    let p = "Harrow Kettleworks Ltd. was founded by Dr. Edda Harrow and J. Pell in 1911. It grew.";
    let found: Vec<String> = sentences_naming(p, "founded")
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        found,
        [
            "Harrow Kettleworks Ltd. was founded by Dr. Edda Harrow and J. Pell in 1911.",
            "It grew."
        ]
    );
}

#[test]
fn prices_and_percentages_answer_only_fields_about_them() {
    let int = |p: &str, k: &str| find_value(&FieldType::Number, p, k).map(|f| f.value);
    assert_eq!(int("Annual pass: £28.00", "annual visitors"), None);
    assert_eq!(
        int("Annual pass: £28.00", "annual pass price"),
        Some(json!(28))
    );
    assert_eq!(
        int("Bottles: 6,200 (14.5% alcohol)", "bottles"),
        Some(json!(6200))
    );
    assert_eq!(int("Alcohol: 14.5%", "alcohol percent"), Some(json!(14.5)));
}

#[test]
fn the_inside_a_sentence_belongs_to_a_name() {
    let names = |p: &str| {
        StringKind::Name
            .candidates(p)
            .into_iter()
            .map(|c| p[c.start..c.end].to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names("The headliners are The Marrow Sisters and Callum Dray."),
        ["The Marrow Sisters", "Callum Dray"]
    );
    assert_eq!(names("The Marrow Sisters played."), ["Marrow Sisters"]);
}

#[test]
fn persons_roles_places_and_addresses() {
    let name = |p: &str, k: &str| find_value(&FieldType::String, p, k).map(|f| f.value);
    assert_eq!(
        name(
            "Kettle Co was founded in 1911 in Brastmoor by Edda Harrow.",
            "founder"
        ),
        Some(json!("Edda Harrow"))
    );
    assert_eq!(
        name(
            "Director of the Institute; Professor of Soft Robotics",
            "predecessor"
        ),
        None
    );
    assert_eq!(
        name("Its director, Chief Scientist Ada Rusk, spoke.", "director"),
        Some(json!("Ada Rusk"))
    );
    assert_eq!(
        name(
            "Our headquarters are at 14 Lanternwharf Road, Quellmoor.",
            "headquarters address"
        ),
        Some(json!("14 Lanternwharf Road"))
    );
    let int = |p: &str, k: &str| find_value(&FieldType::Integer, p, k).map(|f| f.value);
    assert_eq!(
        int("Customers: call +99 41 555 0150", "customer countries"),
        None
    );
    assert_eq!(
        int(
            "News 2023 | Graduate programme",
            "graduate programme months"
        ),
        None
    );
}

#[test]
fn yes_and_no_stated_as_statements() {
    let yes_no = |p: &str, k: &str| find_value(&FieldType::Boolean, p, k).map(|f| f.value);
    assert_eq!(
        yes_no(
            "Entry is free on Sundays.",
            "free entry whether entry free charge"
        ),
        Some(json!(true))
    );
    assert_eq!(
        yes_no(
            "It is not listed on any stock exchange.",
            "publicly listed stock exchange"
        ),
        Some(json!(false))
    );
    assert_eq!(
        yes_no("GPU: optional. RAM: 8 GB.", "gpu required"),
        Some(json!(false))
    );
    assert_eq!(
        yes_no(
            "The mill is still owned by the Harrow family.",
            "family owned"
        ),
        Some(json!(true))
    );
    assert_eq!(yes_no("The weather was fine.", "family owned"), None);
}

#[test]
fn ranges_of_days_give_their_first_and_last_day() {
    let date = |p: &str, k: &str| find_value(&FieldType::Date, p, k).map(|f| f.value);
    let p = "The fair runs from 11 to 13 October 2024 on the quay.";
    assert_eq!(date(p, "first day fair"), Some(json!("2024-10-11")));
    assert_eq!(date(p, "last day fair"), Some(json!("2024-10-13")));
    let p = "It takes place from Thursday 24 July to Sunday 27 July 2025.";
    assert_eq!(date(p, "start date"), Some(json!("2025-07-24")));
    assert_eq!(date(p, "end date"), Some(json!("2025-07-27")));
    assert_eq!(
        date("Held 11–13 October 2024.", "last day"),
        Some(json!("2024-10-13"))
    );
}

#[test]
fn month_fields_take_months() {
    let schema = json!({"type": "string", "description": "Month it opened (YYYY-MM)"});
    assert_eq!(FieldType::of(&schema), FieldType::Month);
    let month = |p: &str| find_value(&FieldType::Month, p, "opened").map(|f| f.value);
    assert_eq!(
        month("It opened in September 2024."),
        Some(json!("2024-09"))
    );
    assert_eq!(
        month("It opened on 3 September 2024."),
        Some(json!("2024-09"))
    );
    assert_eq!(month("Opened: 2024-09"), Some(json!("2024-09")));
    assert_eq!(month("It may open soon, in 2024 perhaps."), None);
}

#[test]
fn enums_booleans_and_plainness() {
    let options = FieldType::Enum(vec!["public".into(), "private".into()]);
    let found = find_value(
        &options,
        "Zorblax is a private company based in Lyon.",
        "ownership company",
    )
    .unwrap();
    assert_eq!(found.value, json!("private"));
    assert_eq!(
        find_value(&options, "It is a publicly traded firm.", "ownership")
            .unwrap()
            .value,
        json!("public"),
        "an adverb states its adjective"
    );
    assert_eq!(
        find_value(&options, "The publication is privileged.", "ownership"),
        None,
        "whole words only"
    );
    let b = find_value(
        &FieldType::Boolean,
        "Is it open source? Yes, since 2020.",
        "open source",
    )
    .unwrap();
    assert_eq!(b.value, json!(true));
    let far = find_value(
        &FieldType::Number,
        "Revenue is reported yearly by the finance team of the group and was 12 last year",
        "revenue",
    )
    .unwrap();
    assert!(!far.plain);
}

#[test]
fn strings_and_lists() {
    let p = "Zorblax is based in Lyon. Its chief executive is Mara Vell. The weather is mild.";
    let s = find_value(&FieldType::String, p, "chief executive CEO").unwrap();
    assert_eq!(s.value, json!("Mara Vell"));
    let s = find_value(&FieldType::String, p, "weather description").unwrap();
    assert_eq!(s.value, json!("The weather is mild."));
    // A string field that asks for neither prose nor a known kind wants a name: no
    // sentence stands in for one.
    assert_eq!(find_value(&FieldType::String, p, "weather"), None);
    assert!(s.plain);
    let list_type = FieldType::Array(Box::new(FieldType::String));
    let l = find_value(
        &list_type,
        "Its products: Alpha, Beta and Gamma.",
        "products",
    )
    .unwrap();
    assert_eq!(l.value, json!(["Alpha", "Beta", "Gamma"]));
    let bullets = find_value(&list_type, "Founders\n- Ada Quell\n- Bo Rinn\n", "founders").unwrap();
    assert_eq!(bullets.value, json!(["Ada Quell", "Bo Rinn"]));
    let numbers = find_value(
        &FieldType::Array(Box::new(FieldType::Integer)),
        "Offices opened in 2001, 2005 and 2010.",
        "offices",
    )
    .unwrap();
    assert_eq!(numbers.value, json!([2001, 2005, 2010]));
}

#[test]
fn names_codes_and_wrapped_lines() {
    let p = "See `02-charter-and-the-wool-trade.md`. They got it in 1347, when\nCountess Aldreda granted the town charter.";
    assert_eq!(
        find_value(&FieldType::Integer, p, "charter year")
            .unwrap()
            .value,
        json!(1347)
    );
    assert_eq!(
        find_value(&FieldType::Integer, "The Loom-7 ships 4,870 units", "units")
            .unwrap()
            .value,
        json!(4870)
    );
    assert_eq!(
        find_value(
            &FieldType::Integer,
            "temperatures fell by -7 degrees",
            "fell"
        )
        .unwrap()
        .value,
        json!(-7)
    );
    let s = find_value(
        &FieldType::String,
        "Its mayor is\nOdile Prenn. The river is wide.",
        "mayor",
    )
    .unwrap();
    assert_eq!(s.value, json!("Odile Prenn"));
    let list = find_value(
        &FieldType::String,
        "Intro.\n- first item\n- weather mild",
        "weather summary",
    )
    .unwrap();
    assert_eq!(list.value, json!("weather mild"));
}

#[test]
fn shaped_strings_and_names() {
    let p = "Press enquiries: press@zorblax.example or call 555-0100. Version 4.2.0 shipped.";
    assert_eq!(
        find_value(&FieldType::String, p, "press email")
            .unwrap()
            .value,
        json!("press@zorblax.example")
    );
    assert_eq!(
        find_value(&FieldType::String, p, "version number")
            .unwrap()
            .value,
        json!("4.2.0")
    );
    let t = "Brannock trades on the Orrindale Stock Exchange under the ticker BLMW.";
    assert_eq!(
        find_value(&FieldType::String, t, "stock ticker symbol")
            .unwrap()
            .value,
        json!("BLMW")
    );
    assert_eq!(
        find_value(&FieldType::String, t, "name of the stock exchange")
            .unwrap()
            .value,
        json!("Orrindale Stock Exchange")
    );
    let m = "In the election, the mayor Odile Prenn succeeded Bastian Greel.";
    assert_eq!(
        find_value(&FieldType::String, m, "current mayor name")
            .unwrap()
            .value,
        json!("Odile Prenn")
    );
    assert_eq!(
        find_value(
            &FieldType::String,
            "It was granted by Countess Aldreda of Orrindale in 1347.",
            "who granted"
        )
        .unwrap()
        .value,
        json!("Countess Aldreda of Orrindale")
    );
    // No name in the passage: no value. A sentence is not a mayor.
    assert_eq!(
        find_value(
            &FieldType::String,
            "the mayor is elected every four years.",
            "mayor"
        ),
        None
    );
    // A possessive is not the name asked for: "Quellmoor's largest employer".
    assert_eq!(
        find_value(
            &FieldType::String,
            "Investors value Quellmoor's largest employer highly.",
            "investor"
        ),
        None
    );
    // A phrase field (a category, a role) takes no sentence either.
    assert_eq!(
        find_value(
            &FieldType::String,
            "The Loom-7 sorts parcels in warehouses.",
            "category kind product"
        ),
        None
    );
}

#[test]
fn values_the_question_states_are_not_answers() {
    let p = "Quellmoor's population has reached 45,900, according to the 2018 census.";
    let q = "According to the 2018 census, what was the population of Quellmoor?";
    let found = find_value_avoiding(&FieldType::Integer, p, "population 2018", q).unwrap();
    assert_eq!(found.value, json!(45900));
    assert_eq!(
        find_value(
            &FieldType::Integer,
            "In 2023 it drew 2023 visitors",
            "visitors"
        )
        .unwrap()
        .value,
        json!(2023)
    );
    let names = find_value_avoiding(
        &FieldType::String,
        "Mayor Odile Prenn of Quellmoor",
        "mayor",
        "Quellmoor",
    )
    .unwrap();
    assert_eq!(names.value, json!("Odile Prenn"));
}

#[test]
fn multibyte_separators_and_years_that_are_not_counts() {
    let p = "Dr. Ysolde Farrand — co-founder and Chief Scientist until 2020; today director — of the institute’s 4,600 students.";
    assert_eq!(
        find_value(&FieldType::Integer, p, "students")
            .unwrap()
            .value,
        json!(4600)
    );
    let census = "Population (2023 census) 48,250";
    assert_eq!(
        find_value(&FieldType::Integer, census, "population")
            .unwrap()
            .value,
        json!(48250)
    );
    assert_eq!(
        find_value(
            &FieldType::Integer,
            "In 2017 it had 3 factories.",
            "factories count"
        )
        .unwrap()
        .value,
        json!(3)
    );
    assert_eq!(
        find_value(&FieldType::Integer, "It opened in 2017.", "opening year")
            .unwrap()
            .value,
        json!(2017)
    );
}

#[test]
fn number_words_and_bracketed_asides() {
    assert_eq!(
        find_value(
            &FieldType::Integer,
            "The bridge has seven arches.",
            "arches"
        )
        .unwrap()
        .value,
        json!(7)
    );
    assert_eq!(
        find_value(
            &FieldType::Integer,
            "Requires 8 GB of RAM (16 GB recommended).",
            "minimum ram gb"
        )
        .unwrap()
        .value,
        json!(8)
    );
    assert_eq!(
        find_value(&FieldType::Number, "Area 37.4 km2 (14.4 sq mi)", "area km2")
            .unwrap()
            .value,
        json!(37.4)
    );
}
