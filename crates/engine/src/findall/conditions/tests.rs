//! The condition judge on statements of the shapes pages write.

use super::*;

fn s(text: &str) -> Statement {
    Statement {
        text: text.into(),
        cells: Vec::new(),
        ..Default::default()
    }
}

fn words(t: &str) -> Vec<String> {
    super::super::text::type_words(t)
}

#[test]
fn comparisons_are_read_with_their_numbers() {
    let t = read_condition("founded", "Company founded after 2015", &words("companies"));
    assert_eq!(
        t.comparison,
        Some(Comparison {
            op: Op::Greater,
            value: 2015.0,
            year: true,
            unit: None,
        })
    );
    let yes = read_statement(&t, &s("Kestrel was founded in 2018 by two engineers.")).unwrap();
    assert_eq!(yes.bearing, Bearing::Supports);
    assert_eq!(yes.value, "2018");
    let no = read_statement(&t, &s("The firm was established in 2014.")).unwrap();
    assert_eq!(no.bearing, Bearing::Contradicts);
    assert!(read_statement(&t, &s("It moved offices in 2019.")).is_none());

    let staff = read_condition("size", "Has more than 50 employees", &words("companies"));
    let small = read_statement(&staff, &s("The company employs 45 people.")).unwrap();
    assert_eq!(small.bearing, Bearing::Contradicts);
    let big = read_statement(&staff, &s("A staff of 1,200 works there.")).unwrap();
    assert_eq!(big.bearing, Bearing::Supports);
}

#[test]
fn units_pick_the_quantity_asked() {
    let t = read_condition(
        "light",
        "The bike weighs less than 20 kg",
        &words("products"),
    );
    assert_eq!(t.comparison.as_ref().unwrap().unit.as_deref(), Some("kg"));
    let s1 = s("The Wren weighs 19.2 kg with its battery, and Wren claims a range of 85 km.");
    let r = read_statement(&t, &s1).unwrap();
    assert_eq!(
        (r.bearing, r.value.as_str()),
        (Bearing::Supports, "19.2 kg")
    );
    let range = read_condition(
        "far",
        "The bike's range is more than 80 km",
        &words("products"),
    );
    let r = read_statement(&range, &s1).unwrap();
    assert_eq!((r.bearing, r.value.as_str()), (Bearing::Supports, "85 km"));
    let row = Statement {
        text: "Model: Trail E1; Weight: 18.5 kg; Range: 95 km".into(),
        cells: vec![
            ("Model".into(), "Trail E1".into()),
            ("Weight".into(), "18.5 kg".into()),
            ("Range".into(), "95 km".into()),
        ],
        ..Default::default()
    };
    assert_eq!(read_statement(&range, &row).unwrap().value, "95 km");
    // A battery's 500 Wh is not a weight.
    assert!(read_statement(&t, &s("It has a 500 Wh battery.")).is_none());
}

#[test]
fn parentheses_give_alternatives_or_limits_never_negations() {
    let t = read_condition(
        "welfare",
        "The charity works for animal welfare (rescue or care of animals)",
        &words("charities"),
    );
    assert!(!t.negative);
    let r = read_statement(
        &t,
        &s("The Trust rescues and rehabilitates sick hedgehogs."),
    )
    .unwrap();
    assert_eq!(r.bearing, Bearing::Supports);
    let place = read_condition(
        "town",
        "The clinic is located in the town of Quillmere (not in a neighbouring village)",
        &words("dental clinics"),
    );
    assert!(!place.negative && place.alternatives.is_empty());
    let people = read_condition(
        "medal",
        "The architect has won the Corran Medal (being shortlisted does not count)",
        &words("people"),
    );
    assert!(!people.negative);
    let won = read_statement(
        &people,
        &s("She won the Corran Medal in 2019 for the library."),
    )
    .unwrap();
    assert_eq!(won.bearing, Bearing::Supports);
    assert!(read_statement(
        &people,
        &s("She was shortlisted for the Corran Medal in 2023.")
    )
    .is_none());
    let practises = read_condition(
        "here",
        "The architect practises in Sellick",
        &words("people"),
    );
    assert!(practises.location);
}

#[test]
fn what_pages_write_in_tables_dates_and_plain_words() {
    let sunday = read_condition(
        "open_on_sundays",
        "The bakery is open on Sundays",
        &words("bakeries"),
    );
    let row = |k: &str, v: &str| Statement {
        text: format!("{k}: {v}"),
        cells: vec![(k.into(), v.into())],
        ..Default::default()
    };
    assert_eq!(
        read_statement(&sunday, &row("Sunday", "8:00–12:30"))
            .unwrap()
            .bearing,
        Bearing::Supports
    );
    assert_eq!(
        read_statement(&sunday, &row("Sunday", "Closed"))
            .unwrap()
            .bearing,
        Bearing::Contradicts
    );
    assert!(read_statement(&sunday, &row("Day pass", "£12")).is_none());
    assert_eq!(
        read_statement(&sunday, &s("Dorley's Bakery remains closed on Sundays."))
            .unwrap()
            .bearing,
        Bearing::Contradicts
    );
    assert!(read_statement(&sunday, &s("Are you open on Sundays?")).is_none());

    let released = read_condition(
        "recent",
        "The library's latest release was published after 1 March 2024",
        &words("software libraries"),
    );
    let late = row("Released", "2024-09-03");
    assert_eq!(
        read_statement(&released, &late).unwrap().bearing,
        Bearing::Supports
    );
    let early = s("Its last release came out on February 28, 2024.");
    assert_eq!(
        read_statement(&released, &early).unwrap().bearing,
        Bearing::Contradicts
    );

    let fee = read_condition(
        "no_membership_fee",
        "The orchestra does not charge its members a membership fee or subscription",
        &words("orchestras"),
    );
    assert!(fee.negative);
    let hat = s("We do not charge a subscription: we pass a hat round instead.");
    assert_eq!(
        read_statement(&fee, &hat).unwrap().bearing,
        Bearing::Supports
    );
    assert_eq!(
        read_statement(&fee, &s("Membership is free."))
            .unwrap()
            .bearing,
        Bearing::Supports
    );

    let town = read_condition(
        "in_lowther",
        "The bookshop is in Lowther",
        &words("bookshops"),
    );
    let moved = s("After eighteen years in Lowther we relocated to Fenby in 2021.");
    assert_eq!(
        read_statement(&town, &moved).unwrap().bearing,
        Bearing::Contradicts
    );
    let building = s("The shop in Lowther moved to its present building in 2019.");
    assert_eq!(
        read_statement(&town, &building).unwrap().bearing,
        Bearing::Supports
    );

    let independent = read_condition(
        "independent",
        "The bookshop is independent, not a branch of a chain",
        &words("bookshops"),
    );
    let chain =
        s("Chapters Lowther is one of the 48 branches of Chapters, the national bookshop chain.");
    assert_eq!(
        read_statement(&independent, &chain).unwrap().bearing,
        Bearing::Contradicts
    );
}

#[test]
fn glosses_and_round_the_clock() {
    let winter = read_condition(
        "open_in_winter",
        "The hut is open (staffed) in winter",
        &words("huts"),
    );
    let staffed = s("A cosy place in the Skarn range that is staffed in winter.");
    assert_eq!(
        read_statement(&winter, &staffed).unwrap().bearing,
        Bearing::Supports
    );
    let always = read_condition(
        "open_24_hours",
        "The space is open 24 hours a day (24/7 access)",
        &words("coworking spaces"),
    );
    let row = Statement {
        text: "Hours: 24/7".into(),
        cells: vec![("Hours".into(), "24/7".into())],
        ..Default::default()
    };
    assert_eq!(
        read_statement(&always, &row).unwrap().bearing,
        Bearing::Supports
    );
    assert!(read_statement(&always, &s("Open 7am to 10pm every day.")).is_none());
}

#[test]
fn negations_and_table_answers_contradict() {
    let t = read_condition(
        "new_patients",
        "The clinic accepts new patients",
        &words("dental clinics"),
    );
    let yes = read_statement(&t, &s("We are currently accepting new patients.")).unwrap();
    assert_eq!(yes.bearing, Bearing::Supports);
    let no = read_statement(&t, &s("We are not accepting new patients at this time.")).unwrap();
    assert_eq!(no.bearing, Bearing::Contradicts);
    let elsewhere = s("The studio is accepting new patients; no referral is needed.");
    assert_eq!(
        read_statement(&t, &elsewhere).unwrap().bearing,
        Bearing::Supports
    );
    let longer = s("The practice is no longer taking new patients.");
    assert_eq!(
        read_statement(&t, &longer).unwrap().bearing,
        Bearing::Contradicts
    );
    let row = Statement {
        text: "Clinic: Yarrow; Accepting new patients: No".into(),
        cells: vec![
            ("Clinic".into(), "Yarrow".into()),
            ("Accepting new patients".into(), "No".into()),
        ],
        ..Default::default()
    };
    assert_eq!(
        read_statement(&t, &row).unwrap().bearing,
        Bearing::Contradicts
    );
}

#[test]
fn places_must_be_the_one_asked() {
    let t = read_condition(
        "in_town",
        "Located in Harrowfield",
        &words("dental clinics"),
    );
    assert!(t.location);
    assert_eq!(t.anchors, ["harrowfield"]);
    let here = read_statement(
        &t,
        &s("The practice is located in Harrowfield, on Mill Road."),
    );
    assert_eq!(here.unwrap().bearing, Bearing::Supports);
    let elsewhere = read_statement(
        &t,
        &s("The practice is located in Nettlebury, ten minutes from Harrowfield."),
    );
    assert_eq!(elsewhere.unwrap().bearing, Bearing::Contradicts);
    assert!(read_statement(&t, &s("Open on Saturdays.")).is_none());
}
