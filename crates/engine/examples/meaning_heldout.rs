//! Held-out check of the monitor's "same meaning" rule (`monitor::SAME_MEANING`): ten pairs
//! of news items, five the same story reworded and five another story on the same subject,
//! written after the threshold was chosen on the unit tests' examples and never used to tune
//! it. Run: `cargo run -p parallax-engine --example meaning_heldout`. Figures are quoted in
//! `bench/monitors/README.md`.

use parallax_engine::monitor::{sketch, SAME_MEANING};
fn main() {
    // (a, b, same story?) written after the threshold was chosen; never seen by it.
    let pairs: &[(&str, &str, bool)] = &[
        ("The Orlen Valley water board approved a 14 million euro upgrade of the Kessing treatment plant on Tuesday, with work due to start in March.",
         "On Tuesday the Kessing treatment plant was granted a 14 million euro upgrade by the Orlen Valley water board; construction begins in March.", true),
        ("Brindle Robotics raised 22 million dollars in a Series B round led by Harcastle Ventures to expand its warehouse picking arms.",
         "Warehouse automation start-up Brindle Robotics has closed a 22 million dollar Series B, with Harcastle Ventures leading the round.", true),
        ("The Fennick Museum will reopen its east wing on 4 May after a two-year restoration of the Victorian glass roof.",
         "After two years restoring its Victorian glass roof, the Fennick Museum reopens the east wing on 4 May.", true),
        ("Marsden council voted to close the Quay Street car park to build 60 social homes, the first council housing in the town since 1978.",
         "Sixty social homes will replace the Quay Street car park after a vote by Marsden council, the town's first council housing since 1978.", true),
        ("Halvorn Air will launch a daily route from Brenmouth to Lisbon in June using Airbus A220 aircraft.",
         "From June, Halvorn Air flies daily between Brenmouth and Lisbon with its A220 fleet.", true),
        ("Brindle Robotics raised 22 million dollars in a Series B round led by Harcastle Ventures to expand its warehouse picking arms.",
         "Brindle Robotics opened a second factory in Tarrow to build warehouse picking arms for European customers.", false),
        ("The Fennick Museum will reopen its east wing on 4 May after a two-year restoration of the Victorian glass roof.",
         "The Fennick Museum appointed Dr Ilse Varga as its new director, replacing Tom Whitby who retires in April.", false),
        ("Marsden council voted to close the Quay Street car park to build 60 social homes, the first council housing in the town since 1978.",
         "Marsden council raised parking charges at the Quay Street car park by 20 pence an hour from January.", false),
        ("Halvorn Air will launch a daily route from Brenmouth to Lisbon in June using Airbus A220 aircraft.",
         "Halvorn Air cancelled 40 flights from Brenmouth on Friday because of a strike by baggage handlers.", false),
        ("The Orlen Valley water board approved a 14 million euro upgrade of the Kessing treatment plant on Tuesday, with work due to start in March.",
         "The Orlen Valley water board lifted the hosepipe ban for Kessing and nearby villages after three weeks of rain.", false),
    ];
    for (a, b, same) in pairs {
        let (fa, fb) = (sketch::features(a), sketch::features(b));
        let j = sketch::jaccard(&fa, &fb);
        let said = sketch::same_meaning(&fa, &fb, SAME_MEANING);
        let s = sketch::same_sketch(&sketch::sketch(&fa), &sketch::sketch(&fb), SAME_MEANING);
        let verdict = if said == *same && s == *same {
            "ok"
        } else {
            "WRONG"
        };
        println!("{same:5} jaccard {j:.2} same_meaning {said:5} sketch {s:5} {verdict}");
    }
}
