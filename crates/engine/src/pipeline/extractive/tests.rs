use super::labels::{in_field_unit, without_leading_date};

use super::*;
use crate::pipeline::request::Request;
use crate::typed::FieldType;

fn source(url: &str, title: &str, passages: &[&str]) -> Source {
    Source::of_passages(url, title, passages)
}

fn request(input: Value) -> Request {
    Request::from_stored(&json!({"input": input}))
}

/// A one-passage source published on `date` (year, month, day).
fn dated(url: &str, title: &str, date: (i32, u32, u32), text: &str) -> Source {
    let mut s = source(url, title, &[text]);
    s.published = chrono::NaiveDate::from_ymd_opt(date.0, date.1, date.2);
    s
}

#[test]
fn a_table_row_ranked_low_is_read_when_its_label_names_the_field() {
    // The company's own pages outrank its leadership page (whose title does not name
    // it) for every passage; the table's row still states the CFO, under a label that
    // writes the role.
    let news: Vec<String> = (0..12)
        .map(|i| format!("Harrowgate Mills reported financial results for quarter {i}."))
        .collect();
    let news: Vec<&str> = news.iter().map(String::as_str).collect();
    let sources = [
            source("http://a.example/news", "Harrowgate Mills", &news),
            source(
                "http://a.example/leadership",
                "Leadership",
                &[
                    "Harrowgate Mills is run by a small team.",
                    "| Name | Role | Since |\n| --- | --- | --- |\n| Odo Brisk | Chief Executive Officer | 2015 |\n| Wenna Tull | Chief Financial Officer | 2019 |",
                    "Office: Hall C, room 214, Tuesdays 14:00",
                ],
            ),
        ];
    let schema = json!({"type": "object", "properties": {
        "cfo": {"type": "string", "description": "Full name of the CFO"},
        "ceo": {"type": "string", "description": "Name of the chief executive officer"},
    }});
    let s = json_output(
        &request(json!(
            "Who is the chief financial officer of Harrowgate Mills?"
        )),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["cfo"], json!("Wenna Tull"), "{:?}", s.basis);
    // "Office" shares a stem with "officer", and its line is no answer.
    assert_eq!(s.content["ceo"], json!("Odo Brisk"), "{:?}", s.basis);
}

#[test]
fn an_infobox_row_answers_for_its_own_page_and_the_current_value() {
    // The neighbour's page names the town too, is newer, and its infobox has a "Mayor"
    // row; the town's own row begins with the name; neither row says who was mayor
    // before: a sentence does.
    let mut neighbour = source(
        "http://wiki.example/Drellby",
        "Drellby",
        &[
            "Drellby is a market town on the Ouse, upstream of Harnwick.",
            "| Mayor | Pell Anstey |\n| --- | --- |\n| Area | 31 km2 |",
        ],
    );
    neighbour.published = chrono::NaiveDate::from_ymd_opt(2024, 5, 1);
    let mut town = source(
        "http://wiki.example/Harnwick",
        "Harnwick",
        &[
            "| Mayor | Idris Vane (Independent) |\n| --- | --- |\n| Area | 12 km2 |",
            "Harnwick is a town on the Ouse. Its council moved to the old mill in 2019.",
            "Idris Vane succeeded Tamsin Hale as mayor in 2021.",
        ],
    );
    town.published = chrono::NaiveDate::from_ymd_opt(2020, 1, 1);
    let sources = [neighbour, town];
    let schema = json!({"type": "object", "properties": {
        "mayor": {"type": "string", "description": "Name of the current mayor"},
        "previous_mayor": {"type": "string", "description": "Name of the previous mayor"},
    }});
    let s = json_output(
        &request(json!("Who is the mayor of Harnwick?")),
        &schema,
        &sources,
        2,
    );
    assert_eq!(s.content["mayor"], json!("Idris Vane"), "{:?}", s.basis);
    assert_eq!(
        s.content["previous_mayor"],
        json!("Tamsin Hale"),
        "{:?}",
        s.basis
    );
}

#[test]
fn a_cell_that_begins_with_a_name_gives_the_name() {
    let mut neighbour = source(
        "http://wiki.example/Drellby",
        "Drellby",
        &[
            "| Mayor | Pell Anstey |\n| --- | --- |\n| Area | 31 km2 |",
            "Drellby is a market town on the Ouse, upstream of Harnwick.",
        ],
    );
    neighbour.published = chrono::NaiveDate::from_ymd_opt(2024, 5, 1);
    let mut town = source(
        "http://wiki.example/Harnwick",
        "Harnwick",
        &[
            "Harnwick is a town on the Ouse.",
            "| Mayor | Idris Vane (Independent) |\n| --- | --- |\n| Area | 12 km2 |",
        ],
    );
    town.published = chrono::NaiveDate::from_ymd_opt(2020, 1, 1);
    let schema = json!({"type": "object", "properties": {
        "mayor": {"type": "string", "description": "Name of the current mayor"},
    }});
    for rounds in [1, 2] {
        let s = json_output(
            &request(json!({"town": "Harnwick"})),
            &schema,
            &[neighbour.clone(), town.clone()],
            rounds,
        );
        assert_eq!(s.content["mayor"], json!("Idris Vane"), "{:?}", s.basis);
    }
}

#[test]
fn a_born_row_gives_the_date_and_the_place_after_it() {
    let sources = [source(
        "http://wiki.example/Ilsa_Marrow",
        "Ilsa Marrow",
        &["| Born | 3 March 1961 Wendlebury, Orrshire |\n| --- | --- |\n| Occupation | Potter |"],
    )];
    let schema = json!({"type": "object", "properties": {
        "birth_date": {"type": "string", "description": "Date of birth (YYYY-MM-DD)"},
        "birthplace": {"type": "string", "description": "Town of birth"},
    }});
    let s = json_output(
        &request(json!({"person": "Ilsa Marrow"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(
        s.content["birth_date"],
        json!("1961-03-03"),
        "{:?}",
        s.basis
    );
    assert_eq!(
        s.content["birthplace"],
        json!("Wendlebury"),
        "{:?}",
        s.basis
    );
    assert_eq!(without_leading_date("Wendlebury"), "Wendlebury");
    assert_eq!(without_leading_date("17th May 1990 Oxley"), "Oxley");
}

#[test]
fn the_entitys_own_pages_count_without_repeating_its_full_name() {
    // The encyclopaedia names "Harrowgate Mills" in every passage; the company's own
    // careers page says "Harrowgate" once and "we" after, and is where the figures are.
    // "mills" is a common word (written in lower case), so leaving it out does not make
    // the careers page about something else; a namesake's page still does not count.
    let wiki: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "Harrowgate Mills, fact {i}: Harrowgate Mills runs three mills and has open days."
            )
        })
        .collect();
    let wiki: Vec<&str> = wiki.iter().map(String::as_str).collect();
    let sources = [
        source(
            "http://wiki.example/Harrowgate_Mills",
            "Harrowgate Mills",
            &wiki,
        ),
        source(
            "http://harrowgate.example/careers",
            "Careers",
            &[
                "Work at Harrowgate.",
                "We currently have 86 open positions in weaving and sales.",
            ],
        ),
        source(
            "http://harrowgate-looms.example/jobs",
            "Jobs",
            &["Harrowgate Looms has 12 open positions."],
        ),
    ];
    let schema = json!({"type": "object", "properties": {
        "open_positions": {"type": "integer", "description": "Number of open positions"},
    }});
    let s = json_output(
        &request(json!({"company": "Harrowgate Mills"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["open_positions"], json!(86), "{:?}", s.basis);
}

#[test]
fn a_one_word_name_is_answered_from_the_page_titled_with_it() {
    // The neighbour's page mentions Harnwick and ranks as well for "population".
    let sources = [
            source(
                "http://wiki.example/Drellby",
                "Drellby",
                &["Drellby, upstream of Harnwick, has a population of 9,100 by the population register."],
            ),
            source(
                "http://wiki.example/Harnwick",
                "Harnwick",
                &["Harnwick is a market town on the river Ouse with an old bridge, a church and a mill; it has a population of 14,800."],
            ),
        ];
    let schema = json!({"type": "object", "properties": {
        "population": {"type": "integer", "description": "Population"},
    }});
    let s = json_output(
        &request(json!("What is the population of Harnwick?")),
        &schema,
        &sources,
        2,
    );
    assert_eq!(s.content["population"], json!(14800), "{:?}", s.basis);
}

#[test]
fn a_range_of_dates_gives_the_first_and_the_last_day() {
    let sources = [source(
            "http://kessel.example/fair",
            "Kessel Fair",
            &["The Kessel Fair returns to the harbour from Friday 4 April to Sunday 6 April 2025. Entry is free."],
        )];
    let schema = json!({"type": "object", "properties": {
        "start_date": {"type": "string", "description": "First day of the fair (YYYY-MM-DD)"},
        "end_date": {"type": "string", "description": "Last day of the fair (YYYY-MM-DD)"},
    }});
    let s = json_output(
        &request(json!({"event": "Kessel Fair 2025"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(
        s.content["start_date"],
        json!("2025-04-04"),
        "{:?}",
        s.basis
    );
    assert_eq!(s.content["end_date"], json!("2025-04-06"), "{:?}", s.basis);
}

#[test]
fn a_field_described_as_a_record_or_of_another_name_needs_a_passage_saying_so() {
    let schema = json!({"type": "object", "properties": {
        "record_attendance": {"type": "integer", "description": "All-time record attendance at the ground"},
        "subsidiary_employees": {"type": "integer", "description": "Number of employees of the subsidiary Drell Marine"},
    }});
    let input = json!({"company": "Harrow Park"});
    let plain = [source(
            "http://a.example/harrow-park",
            "Harrow Park",
            &["Harrow Park reopened in May: 12,600 spectators attended the first match, and the club's 400 employees were there too."],
        )];
    let s = json_output(&request(input.clone()), &schema, &plain, 1);
    assert_eq!(s.content["record_attendance"], Value::Null, "{:?}", s.basis);
    assert_eq!(
        s.content["subsidiary_employees"],
        Value::Null,
        "{:?}",
        s.basis
    );
    let stated = [source(
        "http://a.example/harrow-park",
        "Harrow Park",
        &[
            "Harrow Park drew a record attendance of 14,000 spectators in 1961.",
            "Its subsidiary Drell Marine has 35 employees.",
        ],
    )];
    let s = json_output(&request(input.clone()), &schema, &stated, 1);
    assert_eq!(
        s.content["record_attendance"],
        json!(14000),
        "{:?}",
        s.basis
    );
    assert_eq!(
        s.content["subsidiary_employees"],
        json!(35),
        "{:?}",
        s.basis
    );
    // Rows that give an attendance but no record are passed over, and the statements
    // left are weighed without them (this panicked once: the rows were counted as
    // label statements after they had been dropped).
    let rows = [source(
        "http://a.example/harrow-park",
        "Harrow Park",
        &[
            "| Attendance (2023) | 9,000 |\n| --- | --- |\n| Attendance (2024) | 9,500 |",
            "Harrow Park drew a record attendance of 14,000 spectators in 1961.",
        ],
    )];
    let s = json_output(&request(input), &schema, &rows, 2);
    assert_eq!(
        s.content["record_attendance"],
        json!(14000),
        "{:?}",
        s.basis
    );
}

#[test]
fn a_chief_executive_named_away_from_the_entity_is_someone_elses() {
    let schema = json!({"type": "object", "properties": {
        "ceo": {"type": "string", "description": "Name of the current chief executive"},
    }});
    let input = json!({"company": "Orrin Medical"});
    let news = source(
        "http://news.example/ward",
        "New ward opens at St Hild's",
        &[
            "The scanner was made by Orrin Medical.",
            "The board's chief executive, Ada Voss, opened the ward.",
        ],
    );
    let s = json_output(
        &request(input.clone()),
        &schema,
        std::slice::from_ref(&news),
        1,
    );
    assert_eq!(s.content["ceo"], Value::Null, "{:?}", s.basis);
    let own = source(
        "http://orrin.example/about",
        "About Orrin Medical",
        &["The company is led by chief executive Bram Olde."],
    );
    let s = json_output(&request(input), &schema, &[news, own], 1);
    assert_eq!(s.content["ceo"], json!("Bram Olde"), "{:?}", s.basis);
}

#[test]
fn a_founder_who_gave_the_company_its_name_is_no_namesake() {
    let sources = [source(
        "http://veltmark.example/history",
        "History of Veltmark Medical",
        &[
            "Veltmark Medical makes scanners.",
            "The company was founded in 1979 by Ilse Veltmark, a physicist.",
        ],
    )];
    let schema = json!({"type": "object", "properties": {
        "founder": {"type": "string", "description": "Founder of the company"},
    }});
    let s = json_output(
        &request(json!({"company": "Veltmark Medical"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(
        s.content["founder"],
        json!("Ilse Veltmark"),
        "{:?}",
        s.basis
    );
}

#[test]
fn a_village_is_read_from_an_address_row_without_its_street() {
    for (address, village) in [
        ("3 chemin des Pierres, Sarnac", "Sarnac"),
        ("Kvarngatan 7, Ostvik", "Ostvik"),
        ("14 Mill Road, Drellby", "Drellby"),
    ] {
        let row = format!("| Address | {address} |\n| --- | --- |\n| Founded | 1884 |");
        let sources = [source(
            "http://estate.example/",
            "Domaine Arlo",
            &[row.as_str()],
        )];
        let schema = json!({"type": "object", "properties": {
            "village": {"type": "string", "description": "Village where the estate is"},
        }});
        let s = json_output(
            &request(json!({"estate": "Domaine Arlo"})),
            &schema,
            &sources,
            1,
        );
        assert_eq!(
            s.content["village"],
            json!(village),
            "{address}: {:?}",
            s.basis
        );
    }
}

#[test]
fn a_list_field_takes_no_bare_number_from_a_cell() {
    let sources = [source(
        "http://a.example/kessel-fair",
        "Kessel Fair 2025",
        &["| Stages in fleet | 14 |\n| --- | --- |\n| Opened | 1990 |"],
    )];
    let schema = json!({"type": "object", "properties": {
        "stages": {"type": "array", "items": {"type": "string"}, "description": "Names of the stages"},
    }});
    let s = json_output(
        &request(json!({"event": "Kessel Fair 2025"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["stages"], Value::Null, "{:?}", s.basis);
}

#[test]
fn fills_typed_fields_with_basis_and_honest_confidence() {
    let sources = [
        source(
            "http://a.example/about",
            "About Zorblax Robotics",
            &[
                "Zorblax Robotics was founded on 5 March 2011 in Quellmoor.",
                "| Employees | 12,400 |\n| --- | --- |\n| Ownership | Private |",
                "It is a privately held company.",
            ],
        ),
        source(
            "http://b.example/news",
            "Zorblax grows",
            &["Zorblax Robotics now employs 12,400 people."],
        ),
        source(
            "http://d.example/profile",
            "Zorblax Robotics profile",
            &["Zorblax Robotics has 12,400 employees."],
        ),
        source(
            "http://c.example/cookies",
            "Cookies",
            &["We use 3 cookies. Call 555 0100."],
        ),
    ];
    let schema = json!({"type": "object", "properties": {
            "employees": {"type": "integer", "description": "Number of employees"},
            "founded": {"type": "string", "description": "Founding date (YYYY-MM-DD)"},
            "ownership": {"type": "string", "enum": ["public", "private"]},
            "ceo": {"type": ["string", "null"], "description": "Chief executive's name"},
            "revenue": {"type": "number", "description": "Annual revenue"}
        }, "required": ["employees", "founded", "ownership", "ceo", "revenue"]});
    let s = json_output(
        &request(json!({"company": "Zorblax Robotics"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["employees"], json!(12400));
    assert_eq!(s.content["founded"], json!("2011-03-05"));
    assert_eq!(s.content["ownership"], json!("private"));
    assert_eq!(s.content["ceo"], Value::Null, "no source names a CEO");
    assert_eq!(s.content["revenue"], Value::Null);
    let fields: Vec<&str> = s
        .basis
        .iter()
        .map(|b| b["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["employees", "founded", "ownership", "ceo", "revenue"]
    );
    let employees = &s.basis[0];
    assert_eq!(
        employees["confidence"], "high",
        "a label states it and other sources agree: {employees}"
    );
    assert_eq!(employees["citations"].as_array().unwrap().len(), 2);
    // The basis names the pages that agree (the README promises it).
    let reasoning = employees["reasoning"].as_str().unwrap();
    assert!(
        reasoning.contains("Also stated by:")
            && reasoning.contains("http://b.example/news")
            && reasoning.contains("http://d.example/profile"),
        "{reasoning}"
    );
    assert!(employees["citations"][0]["excerpts"][0]
        .as_str()
        .unwrap()
        .contains("12,400"));
    assert_eq!(s.basis[3]["confidence"], "low");
    assert!(s.basis[3]["citations"].as_array().unwrap().is_empty());
}

#[test]
fn fields_need_passages_that_name_them() {
    let sources = [source(
        "http://a.example/about",
        "Corvel Cableworks",
        &["Corvel Cableworks employs 1,900 people. The coopérative was founded in 1974."],
    )];
    let schema = json!({"type": "object", "properties": {
        "employees": {"type": "integer", "description": "Number of employees"},
        "record_attendance": {"type": "integer", "description": "Highest attendance"},
        "coopérative_founded": {"type": "integer", "description": "Year founded"}
    }});
    let s = json_output(
        &request(json!({"company": "Corvel Cableworks"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["employees"], json!(1900));
    assert_eq!(s.content["coopérative_founded"], json!(1974));
    assert_eq!(
        s.content["record_attendance"],
        Value::Null,
        "no passage states a record"
    );
}

#[test]
fn a_near_namesake_does_not_answer() {
    let sources = [source(
            "http://a.example/clubs",
            "Clubs of Corrow",
            &["The semi-professional Corrow Rovers FC, founded in 1894, plays at Corrow Park. Corrow Royal Rovers was founded in 1911 by ironworkers."],
        )];
    let schema = json!({"type": "object", "properties": {
        "founded_year": {"type": "integer", "description": "Year the club was founded"}
    }});
    let s = json_output(
        &request(json!({"club": "Corrow Royal Rovers"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["founded_year"], json!(1911));
    let only_namesake = [source(
        "http://a.example/clubs",
        "Clubs of Corrow",
        &["The semi-professional Corrow Rovers FC, founded in 1894, plays at Corrow Park."],
    )];
    let s = json_output(
        &request(json!({"club": "Corrow Royal Rovers"})),
        &schema,
        &only_namesake,
        1,
    );
    assert_eq!(s.content["founded_year"], Value::Null);
}

#[test]
fn a_cross_check_prefers_the_later_report() {
    // Each figure says its own year; the page dates are the other way round.
    let sources = [
        dated(
            "http://a.example/profile",
            "Harwick Looms",
            (2025, 3, 1),
            "| Employees | 240 (2021) |\n| --- | --- |\n| Founded | 1902 |",
        ),
        dated(
            "http://b.example/factsheet",
            "Harwick Looms",
            (2022, 5, 2),
            "| Employees | 310 (2024) |\n| --- | --- |\n| Mills | 2 |",
        ),
    ];
    let schema = json!({"type": "object", "properties": {
        "employees": {"type": "integer", "description": "Number of employees"}
    }});
    let input = json!({"company": "Harwick Looms"});
    // One reading takes the best-ranked statement; a cross-check the latest one.
    let once = json_output(&request(input.clone()), &schema, &sources, 1);
    assert_eq!(once.content["employees"], json!(240));
    let checked = json_output(&request(input), &schema, &sources, 2);
    assert_eq!(checked.content["employees"], json!(310));
    assert_eq!(
        checked.basis[0]["confidence"], "medium",
        "the sources disagree"
    );
}

#[test]
fn a_page_date_or_another_facts_year_does_not_date_a_figure() {
    let sources = [
            dated(
                "http://a.example/about",
                "Harwick Looms",
                (2020, 3, 1),
                "Founded in 1902, Harwick Looms has 310 employees.",
            ),
            dated(
                "http://b.example/news",
                "Harwick Looms",
                (2024, 5, 2),
                "Harwick Looms, a weaver that employs 240 people at its mill, will open a shop in town next spring.",
            ),
        ];
    let schema = json!({"type": "object", "properties": {
        "employees": {"type": "integer", "description": "Number of employees"}
    }});
    let input = json!({"company": "Harwick Looms"});
    let once = json_output(&request(input.clone()), &schema, &sources, 1);
    let checked = json_output(&request(input), &schema, &sources, 2);
    assert_eq!(once.content["employees"], json!(310));
    assert_eq!(checked.content["employees"], json!(310));
}

#[test]
fn statements_about_other_entities_do_not_answer() {
    let sources = [source(
            "http://a.example/inst",
            "Pellin Institute",
            &["Notable alumni: Ada Rusk and Bo Tarn, founders of Ketterly Motors. The Pellin Institute was founded by Corin Vale in 1898."],
        )];
    let schema = json!({"type": "object", "properties": {
        "founder": {"type": "string", "description": "Name of the founder"}
    }});
    let s = json_output(
        &request(json!({"institution": "Pellin Institute"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["founder"], json!("Corin Vale"));
    // The entity's own name is not a value of it.
    let sources = [source(
        "http://a.example/river",
        "Velmer River",
        &["Velmer River\n\nThe Velmer River rises in the Corrow Hills."],
    )];
    let schema = json!({"type": "object", "properties": {
        "source": {"type": "string", "description": "Where the river rises"}
    }});
    let s = json_output(&request(json!({"river": "Velmer"})), &schema, &sources, 1);
    assert_eq!(s.content["source"], json!("Corrow Hills"));
}

#[test]
fn table_cells_are_read_under_their_label_and_quoted_as_text() {
    let sources = [source(
            "http://a.example/wiki",
            "Harrow Kettleworks",
            &["| Type | Private |\n| --- | --- |\n| Founded | 3 May 1911 |\n| Headquarters | Pell Yard Business Park, Brastmoor |\n| Employees | about 640 (2023) |"],
        )];
    let schema = json!({"type": "object", "properties": {
        "hq_city": {"type": "string", "description": "City of the headquarters"},
        "employees": {"type": "integer", "description": "Number of employees"},
        "founded_on": {"type": "string", "description": "Founding date (YYYY-MM-DD)"}
    }});
    let s = json_output(
        &request(json!({"company": "Harrow Kettleworks"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["hq_city"], json!("Brastmoor"));
    assert_eq!(s.content["employees"], json!(640));
    assert_eq!(s.content["founded_on"], json!("1911-05-03"));
    assert_eq!(
        s.basis[1]["citations"][0]["excerpts"][0],
        json!("Employees\tabout 640 (2023)")
    );
}

#[test]
fn a_text_answer_says_when_no_source_answers() {
    let sources = [source(
        "http://a.example/",
        "Quellmarsh",
        &["Quellmarsh lies on the Velmer River. Its bridge has seven arches."],
    )];
    let s = text_output(
        &request(json!("What is the population of Quellmarsh?")),
        None,
        &sources,
        1,
    );
    let text = s.content.as_str().unwrap();
    assert!(
        text.starts_with("No source read in this run states"),
        "{text}"
    );
    assert!(s.basis[0]["citations"].as_array().unwrap().is_empty());
    assert_eq!(s.warnings.len(), 1);
    // A sentence about another town's population does not answer either.
    let other = [source(
        "http://b.example/",
        "Tarrowmead",
        &["Tarrowmead has a population of 21,700."],
    )];
    let s = text_output(
        &request(json!("What is the population of Quellmarsh?")),
        None,
        &other,
        1,
    );
    assert!(
        s.content.as_str().unwrap().starts_with("No source read"),
        "{}",
        s.content
    );
}

#[test]
fn pro_writes_a_report_with_every_claim_cited() {
    let sources = [
            source(
                "http://a.example/",
                "Velmer River",
                &["The Velmer River rises in the Corrow Hills. The Velmer River is 212 km long. The Velmer River is navigable for 160 km."],
            ),
            source(
                "http://b.example/",
                "Rivers of Orrin",
                &["The Velmer River flows into Ossel Bay at Osselhaven."],
            ),
        ];
    let s = text_output(
        &request(json!("Describe the course of the Velmer River")),
        None,
        &sources,
        3,
    );
    let text = s.content.as_str().unwrap();
    assert!(text.starts_with("## Answer\n\n"), "{text}");
    assert!(text.contains("## Findings"), "{text}");
    assert!(text.contains("### Velmer River"), "{text}");
    assert!(text.contains("### Rivers of Orrin"), "{text}");
    assert!(
        text.contains("- The Velmer River flows into Ossel Bay at Osselhaven. [2]"),
        "{text}"
    );
    let cites = s.basis[0]["citations"].as_array().unwrap();
    assert_eq!(cites.len(), 2);
    assert!(
        cites[0]["excerpts"].as_array().unwrap().len() > 1,
        "{cites:?}"
    );
    // One round: the answer is the answering sentences, one per page, no sections.
    let s = text_output(
        &request(json!("Describe the course of the Velmer River")),
        None,
        &sources,
        1,
    );
    assert!(!s.content.as_str().unwrap().contains("## Findings"));
}

#[test]
fn sentences_agreeing_are_medium_confidence() {
    let sources = [
        source(
            "http://a.example/",
            "Harwick Looms",
            &["Harwick Looms employs 640 people."],
        ),
        source(
            "http://b.example/",
            "Harwick Looms news",
            &["Harwick Looms now employs 640 people."],
        ),
    ];
    let schema = json!({"type": "object", "properties": {
        "employees": {"type": "integer", "description": "Number of employees"}
    }});
    let s = json_output(
        &request(json!({"company": "Harwick Looms"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["employees"], json!(640));
    assert_eq!(s.basis[0]["confidence"], "medium");
    assert_eq!(s.basis[0]["citations"].as_array().unwrap().len(), 2);
}

#[test]
fn a_field_named_only_by_its_kind_is_read_beside_the_entity() {
    let sources = [source(
            "http://a.example/museum",
            "Storm Wing opens",
            &["The first gallery tells the story of the Great Flood of 3 March 1902, in which the mill was lost."],
        )];
    let schema = json!({"type": "object", "properties": {
        "date": {"type": "string", "description": "Date of the flood (YYYY-MM-DD)"}
    }});
    let s = json_output(
        &request(json!({"event": "Great Flood of Harrow"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["date"], json!("1902-03-03"));
}

#[test]
fn fields_are_read_under_the_words_pages_use() {
    let sources = [source(
            "http://a.example/fest",
            "Harrow Folk Festival",
            &["The Harrow Folk Festival ended with a record: 61,000 spectators over four days. In 1881, 37 fishermen died in the gale."],
        )];
    let schema = json!({"type": "object", "properties": {
        "attendance": {"type": "integer", "description": "Total attendance"},
        "deaths": {"type": "integer", "description": "Fishermen who died"}
    }});
    let s = json_output(
        &request(json!({"festival": "Harrow Folk Festival"})),
        &schema,
        &sources,
        1,
    );
    assert_eq!(s.content["attendance"], json!(61000));
    assert_eq!(s.content["deaths"], json!(37));
}

#[test]
fn list_fields_get_element_basis() {
    let sources = [source(
        "http://a.example/",
        "Zorblax products",
        &["Zorblax product lines: Kestrel Arm, Moth Courier and Loom-7."],
    )];
    let schema = json!({"type": "object", "properties": {
        "product_lines": {"type": "array", "items": {"type": "string"}, "description": "Names of product lines"}
    }});
    let s = json_output(&request(json!("Zorblax")), &schema, &sources, 1);
    assert_eq!(
        s.content["product_lines"],
        json!(["Kestrel Arm", "Moth Courier", "Loom-7"])
    );
    let fields: Vec<&str> = s
        .basis
        .iter()
        .map(|b| b["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "product_lines",
            "product_lines.0",
            "product_lines.1",
            "product_lines.2"
        ]
    );
}

#[test]
fn text_answers_cite_their_sentences() {
    let sources = [
        source(
            "http://a.example/",
            "Quellmoor",
            &["Quellmoor lies on the Velthane River. It has a bridge."],
        ),
        source(
            "http://b.example/",
            "Rivers",
            &["The Velthane River rises in the Corrach Hills."],
        ),
    ];
    let s = text_output(
        &request(json!("Which river is Quellmoor on?")),
        None,
        &sources,
        1,
    );
    let text = s.content.as_str().unwrap();
    assert!(
        text.starts_with("Quellmoor lies on the Velthane River. [1]"),
        "{text}"
    );
    assert!(text.contains("1. [Quellmoor](http://a.example/)"), "{text}");
    assert_eq!(s.basis[0]["field"], "output");
    assert_eq!(s.basis[0]["citations"][0]["url"], "http://a.example/");
    let none = text_output(&request(json!("zzz qqq")), None, &sources, 1);
    assert_eq!(none.basis[0]["confidence"], "low");
    assert_eq!(none.warnings.len(), 1);
}

#[test]
fn numbers_in_the_fields_unit() {
    assert_eq!(
        in_field_unit(
            json!(3_200_000_000i64),
            "revenue_billion_usd",
            &FieldType::Number
        ),
        json!(3.2)
    );
    assert_eq!(
        in_field_unit(
            json!(185_000_000),
            "net_profit_million_usd",
            &FieldType::Integer
        ),
        json!(185)
    );
    assert_eq!(
        in_field_unit(json!(3.2), "revenue_billion_usd", &FieldType::Number),
        json!(3.2)
    );
    assert_eq!(
        in_field_unit(json!(12400), "employees", &FieldType::Integer),
        json!(12400)
    );
}

#[test]
fn excerpts_do_not_stop_at_decimal_points() {
    let filler = "Other news of the week fills this paragraph. ".repeat(8);
    let passage =
        format!("{filler}The round values the company at $6.5 billion, its backers said. {filler}");
    assert_eq!(
        excerpt(&passage, "6.5 billion"),
        "The round values the company at $6.5 billion, its backers said."
    );
}
