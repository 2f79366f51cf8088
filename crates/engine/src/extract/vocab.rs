//! Boilerplate vocabulary in the languages of the web: the words and phrases with which
//! pages announce lists of other stories, comment sections, share prompts and newsletter
//! boxes, so that a heading or a short label saying "Mehr zum Thema", "À lire aussi" or
//! "Komentarze" is recognised as well as its English counterpart.
//!
//! Phrases are lower-case; a label matches a phrase when, lower-cased and with whitespace
//! collapsed and closing punctuation trimmed, it equals the phrase or, for phrases of more
//! than one word and more than eight bytes, starts with it and goes on for less than 40
//! bytes ("Mehr zum Thema Klimaschutz"). Single words match only whole labels, so that
//! "Kommentar: Warum …" over an opinion piece is not taken for a comment section.

use super::markdown::collapse_ws;

/// Phrases announcing other stories or further links.
const RELATED: &[&str] = &[
    // English
    "related",
    "related articles",
    "related stories",
    "related posts",
    "related content",
    "related reading",
    "related links",
    "you may also like",
    "you might also like",
    "you may be interested in",
    "recommended",
    "recommended for you",
    "recommended stories",
    "more stories",
    "more from",
    "more on this",
    "more on this topic",
    "most popular",
    "most read",
    "trending",
    "trending now",
    "read next",
    "also read",
    "don't miss",
    "next article",
    "next post",
    "previous article",
    "previous post",
    // German
    "mehr zum thema",
    "mehr zu",
    "mehr dazu",
    "mehr interessantes",
    "weitere artikel",
    "weitere beiträge",
    "weitere themen",
    "weitere nachrichten",
    "weitere meldungen",
    "weiterführende links",
    "weiterführender link",
    "verwandte artikel",
    "verwandte beiträge",
    "ähnliche artikel",
    "ähnliche beiträge",
    "empfohlene artikel",
    "empfohlene beiträge",
    "das könnte sie auch interessieren",
    "das könnte dich auch interessieren",
    "das könnte ihnen auch gefallen",
    "das könnte dir auch gefallen",
    "dies könnte sie auch interessieren",
    "das könnte dich ebenfalls interessieren",
    "das könnte sie ebenfalls interessieren",
    "das thema könnte dich auch interessieren",
    "das thema könnte sie auch interessieren",
    "diese artikel könnten dich auch interessieren",
    "diese artikel könnten sie auch interessieren",
    "diese artikel könnten dich ebenfalls interessieren",
    "diese artikel könnten sie ebenfalls interessieren",
    "artikel und videos zum thema",
    "mehr aus der",
    "mehr aus dem",
    "auch interessant",
    "ebenfalls interessant",
    "lesen sie auch",
    "lies auch",
    "zum weiterlesen",
    "meistgelesen",
    "meistgelesene artikel",
    "beliebte artikel",
    "schon gelesen",
    "entdecke weitere",
    "entdecken sie weitere",
    "empfehlungen aus dem",
    "empfehlungen aus der",
    "unsere empfehlungen",
    "heute empfehlen wir",
    "nächster artikel",
    "nächster beitrag",
    "vorheriger artikel",
    "vorheriger beitrag",
    "vorschau auf den nächsten artikel",
    // French
    "à lire aussi",
    "a lire aussi",
    "lire aussi",
    "à lire également",
    "sur le même sujet",
    "articles similaires",
    "articles liés",
    "dans la même rubrique",
    "vous aimerez aussi",
    "vous aimerez peut-être aussi",
    "les plus lus",
    // Spanish
    "te puede interesar",
    "también te puede interesar",
    "te podría interesar",
    "noticias relacionadas",
    "artículos relacionados",
    "lee también",
    "lea también",
    "más noticias",
    "lo más leído",
    "puedes ver",
    // Italian
    "leggi anche",
    "articoli correlati",
    "potrebbe interessarti",
    "ti potrebbe interessare",
    "potrebbero interessarti",
    "i più letti",
    // Portuguese
    "leia também",
    "veja também",
    "artigos relacionados",
    "notícias relacionadas",
    "mais lidas",
    // Dutch
    "lees ook",
    "gerelateerde artikelen",
    "meer over dit onderwerp",
    "meest gelezen",
    // Polish
    "czytaj też",
    "czytaj także",
    "zobacz też",
    "zobacz także",
    "polecamy",
    "podobne artykuły",
    "najczęściej czytane",
    // Czech, Hungarian, Swedish, Danish, Finnish
    "související články",
    "čtěte také",
    "ezek is érdekelhetnek",
    "kapcsolódó cikkek",
    "läs även",
    "relaterade artiklar",
    "læs også",
    "relaterede artikler",
    "lue myös",
    "lue aiheesta lisää",
    // Russian, Ukrainian
    "читайте также",
    "похожие статьи",
    "по теме",
    "читайте також",
    // Chinese, Japanese, Korean
    "相关文章",
    "相关阅读",
    "相关新闻",
    "相關文章",
    "延伸阅读",
    "推荐阅读",
    "関連記事",
    "関連ニュース",
    "おすすめ記事",
    "관련 기사",
];

/// Phrases introducing comments or prompting for them.
const COMMENTS: &[&str] = &[
    // English
    "comment",
    "comments",
    "responses",
    "replies",
    "reader comments",
    "leave a reply",
    "leave a comment",
    "add a comment",
    "post a comment",
    "no comments",
    "join the discussion",
    "join the conversation",
    "what readers say",
    // German
    "kommentare",
    "kommentieren",
    "kommentar schreiben",
    "kommentare schreiben",
    "kommentar verfassen",
    "schreibe einen kommentar",
    "hinterlasse einen kommentar",
    "keine kommentare",
    "leserkommentare",
    // French
    "commentaires",
    "laisser un commentaire",
    "laissez un commentaire",
    "ajouter un commentaire",
    // Spanish, Portuguese
    "comentarios",
    "comentários",
    "deja un comentario",
    "deja tu comentario",
    "deixe um comentário",
    "deixe seu comentário",
    // Italian
    "commenti",
    "lascia un commento",
    // Dutch
    "reacties",
    "laat een reactie achter",
    // Polish, Czech
    "komentarze",
    "dodaj komentarz",
    "komentáře",
    // Russian
    "комментарии",
    "оставить комментарий",
    // Chinese, Japanese
    "评论",
    "發表評論",
    "发表评论",
    "コメント",
    "コメントを書く",
];

/// Phrases of share prompts, rating prompts, newsletter boxes, author boxes, contact boxes
/// and links back to the list a page belongs to.
const PROMPTS: &[&str] = &[
    // English
    "share",
    "share this",
    "share this article",
    "share this post",
    "share this story",
    "share on",
    "sign up for our newsletter",
    "subscribe to our newsletter",
    "newsletter",
    "was this article helpful",
    "was this helpful",
    "about the author",
    "about the authors",
    "back to overview",
    "back to list",
    "back to the list",
    // German
    "teilen",
    "artikel teilen",
    "beitrag teilen",
    "diesen artikel teilen",
    "seite teilen",
    "jetzt teilen",
    "möchten sie den artikel teilen",
    "artikel gefallen",
    "war der artikel nützlich",
    "war dieser artikel hilfreich",
    "hier können sie den artikel bewerten",
    "artikel bewerten",
    "newsletter abonnieren",
    "jetzt newsletter abonnieren",
    "mit unserem newsletter",
    "melden sie sich für unseren newsletter an",
    // Author boxes
    "über den autor",
    "über die autorin",
    "über die autoren",
    "zum autor",
    "zur autorin",
    // Contact boxes under press releases
    "kontakt",
    "pressekontakt",
    "ansprechpartner",
    "ansprechpartnerin",
    "ansprechpartner zum thema",
    "ansprechpartnerin zum thema",
    // Links back to the list the page belongs to
    "zurück",
    "zurück zur übersicht",
    "zur übersicht",
    "zurück zur liste",
    "zurück zur listenansicht",
    "zurück zur startseite",
    "zurück zur newsübersicht",
    // French
    "partager",
    "partager cet article",
    "partagez cet article",
    "abonnez-vous à notre newsletter",
    "inscrivez-vous à notre newsletter",
    "à propos de l'auteur",
    "retour à la liste",
    // Spanish, Portuguese
    "compartir",
    "comparte este artículo",
    "compartilhar",
    "compartilhe",
    "suscríbete a nuestro boletín",
    "sobre el autor",
    "sobre o autor",
    // Italian
    "condividi",
    "condividi questo articolo",
    "iscriviti alla newsletter",
    "sull'autore",
    // Dutch
    "delen",
    "deel dit artikel",
    "over de auteur",
    // Polish
    "udostępnij",
    "podziel się",
    "zapisz się do newslettera",
    "o autorze",
    // Russian
    "поделиться",
    "подписаться на рассылку",
    // Chinese, Japanese
    "分享",
    "分享到",
    "シェア",
    "シェアする",
];

/// Whole labels that ask to read on ("Read more", "Mehr lesen:"): inside a story they
/// open a sentence about another one, which newspapers' texts keep, so they announce a list
/// of other stories only as a whole label with links right after it (see
/// [`is_read_more_label`]).
const READ_MORE: &[&str] = &[
    "read more",
    "read on",
    "more",
    "mehr lesen",
    "weiterlesen",
    "lesen sie mehr",
    "mehr",
    "lire la suite",
    "lire plus",
    "leer más",
    "leggi di più",
    "czytaj więcej",
    "lue lisää",
];

/// The label as phrases are matched: lower-cased, whitespace collapsed, closing
/// punctuation and counts ("Comments (12)", "3 Kommentare") trimmed.
fn normalize_label(text: &str) -> String {
    let t = collapse_ws(text).to_lowercase();
    let t = t.trim_end_matches([
        ':', '：', '!', '?', '.', '…', ' ', '»', '›', '>', '→', '(', ')',
    ]);
    let t = t.trim_end_matches(|c: char| c.is_ascii_digit() || matches!(c, '(' | ')' | ' '));
    let t = t
        .trim_start_matches(|c: char| c.is_ascii_digit())
        .trim_start();
    t.to_string()
}

fn matches_any(text: &str, phrases: &[&str]) -> bool {
    if text.len() > 300 {
        return false;
    }
    let t = normalize_label(text);
    if t.is_empty() {
        return false;
    }
    phrases.iter().any(|p| {
        t == *p || (p.len() > 8 && p.contains(' ') && t.starts_with(p) && t.len() < p.len() + 40)
    })
}

/// Whether a heading or label announces a list of other stories or further links ("Related
/// articles", "Mehr zum Thema", "À lire aussi", "Czytaj też", "相关文章").
pub(super) fn is_related_label(text: &str) -> bool {
    matches_any(text, RELATED)
}

/// Whether a heading or label is a whole "read more" label ("Mehr lesen:", "Weiterlesen"),
/// which announces other stories when links follow it.
pub(super) fn is_read_more_label(text: &str) -> bool {
    text.len() <= 40 && READ_MORE.contains(&normalize_label(text).as_str())
}

/// Whether a heading or label introduces comments ("Comments (3)", "Kommentare",
/// "Laisser un commentaire", "Komentarze", "评论").
pub(super) fn is_comments_label(text: &str) -> bool {
    if matches_any(text, COMMENTS) {
        return true;
    }
    // "12 thoughts on “Title”", "Leave a Reply to …".
    let t = normalize_label(text);
    (t.contains("thoughts on ") && t.len() < 200) || t.starts_with("leave a reply")
}

/// Whether a short label is a share, rating or newsletter prompt, opens an author box or
/// links back to a list ("Share this article", "Artikel teilen", "War der Artikel
/// nützlich?", "Newsletter abonnieren", "Über den Autor", "Zurück zur Übersicht").
pub(super) fn is_prompt_label(text: &str) -> bool {
    matches_any(text, PROMPTS)
}

/// Labels opening the credit line of a photo.
const CREDITS: &[&str] = &[
    "foto",
    "fotos",
    "fotocredit",
    "fotonachweis",
    "titelbild",
    "titelfoto",
    "bild",
    "bilder",
    "bildquelle",
    "bildnachweis",
    "photo",
    "photos",
    "photo credit",
    "image",
    "image credit",
    "credit",
    "credits",
    "beitragsbild",
    "bildrechte",
    "crédit",
    "crédits",
    "crédit photo",
    "crédits photo",
    "crédits photos",
    "crédit image",
    "fotografía",
    // The source a short item was taken from ("Quelle: dpa", "Source: Agency").
    "quelle",
    "source",
    "fuente",
    "źródło",
    "créditos",
    "zdjęcie",
];

/// Whether a short line is the credit of a photo ("Foto: Agentur", "Titelbild: X/Y",
/// "© Foto: iStock"): a credit label, a colon, at most a line of names.
pub(super) fn is_credit_line(text: &str) -> bool {
    if text.len() > 160 {
        return false;
    }
    let t = collapse_ws(text).to_lowercase();
    let t = t.trim_start_matches(['©', '(', ' ']);
    let Some((label, rest)) = t.split_once(':') else {
        return false;
    };
    !rest.trim().is_empty() && CREDITS.contains(&label.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_several_languages() {
        for t in [
            "Related articles",
            "Mehr zum Thema",
            "Mehr zum Thema Klimaschutz",
            "Das könnte Sie auch interessieren!",
            "À lire aussi :",
            "Czytaj też",
            "Читайте также",
            "相关文章",
        ] {
            assert!(is_related_label(t), "{t}");
        }
        for t in [
            "Comments (12)",
            "3 Kommentare",
            "Laisser un commentaire",
            "Komentarze",
        ] {
            assert!(is_comments_label(t), "{t}");
        }
        for t in [
            "Artikel teilen",
            "War der Artikel nützlich?",
            "Partager",
            "Über den Autor",
            "Zurück zur Übersicht",
            "Pressekontakt:",
        ] {
            assert!(is_prompt_label(t), "{t}");
        }
        for t in [
            "Foto: Agentur Beispiel",
            "Titelbild: A. Muster/Bildagentur",
            "© Foto: iStock/someone",
            "(Credit: Jane Roe / Agency)",
            "Crédits photos : Agence Exemple",
            "Beitragsbild: Titelseite vom 2.4.2019, Ausriss.",
        ] {
            assert!(is_credit_line(t), "{t}");
        }
        for t in [
            "Foto:",
            "Fotografie: eine Kunst für sich",
            "Das Bild: ein Streit um Worte",
        ] {
            assert!(!is_credit_line(t), "{t}");
        }
        for t in [
            "Mehr als die Hälfte der Gemeinden stimmte zu",
            "Relatedness in families",
            "Teilen und Herrschen im alten Rom: eine Geschichte der Provinzen",
            "Der Kommentar des Ministers zur Lage der Landwirtschaft im Osten",
            "Kommentare: Warum die Regierung irrt",
            "Diskussion",
            "Zurück in die Zukunft: Wie Städte ihre Flüsse wiederentdecken",
            // "Read more: <a story>" inside a story is kept by newspapers' own gold texts,
            // and "Read more" is also the "continue reading" link of a teaser.
            "Read more",
        ] {
            assert!(
                !is_related_label(t) && !is_comments_label(t) && !is_prompt_label(t),
                "{t}"
            );
        }
    }
}
