//! The index of pages read, in PostgreSQL, for every node of one database: what a run,
//! Extract or Search read for a tenant, and what an operator added with `parallax index add`
//! (shared by every tenant). With SQLite, the engine keeps pages in its embedded tantivy index
//! instead; this is its PostgreSQL counterpart (the engine's `PageIndex`, adapted by the CLI).
//!
//! The `pages` table (migration 10, PostgreSQL only) is keyed by `(owner, url)`: `owner` is
//! the tenant, or [`SHARED_OWNER`] for a shared page. A tenant sees its own pages and the
//! shared ones, never another tenant's: every read here takes the tenant and filters on
//! `owner IN (tenant, '*')`.
//!
//! **Search.** A generated `tsvector` column weighs the title (`A`) above the body (`B`), with
//! the `english` configuration (lower-casing, Snowball English stemming, English stop words:
//! tantivy's analyzer as near as PostgreSQL has it); a GIN index serves `@@`. A query's text is
//! never query syntax: it is split into words (runs of letters and digits) here, each word is
//! normalised by `to_tsquery` as a quoted lexeme, and the words are OR-ed (as tantivy's
//! should-clauses), so quotes, colons, `-`, `!`, `&`, parentheses and `AND`/`OR`/`NOT` are
//! ordinary separators or words. Pages are ranked by `ts_rank_cd` (cover density, default
//! weights: a title word counts 2.5 times a body word). A query of stop words only finds
//! nothing (the `english` configuration does not index them; tantivy would keep them).
//! When a tenant's copy and the shared copy of one URL both match, the tenant's is answered.
//! Snippets come from `ts_headline` (plain text, no markers) over the first
//! [`SNIPPET_SCAN_CHARS`] of the body, built only for the hits returned.
//!
//! **Writes.** [`PgPages::upsert`] writes a batch in one statement (`unnest` of arrays,
//! `ON CONFLICT (owner, url) DO UPDATE`); a later page of the batch with the same owner and
//! URL wins. NUL characters (which PostgreSQL text cannot hold) are dropped.

use crate::postgres::error_text;
use crate::{Result, StoreError};
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::Pool;
use std::collections::HashMap;

/// The owner of shared pages (as the tantivy index spells it).
pub const SHARED_OWNER: &str = "*";
/// Most words of a query used (the pipeline may search with long text).
pub const MAX_QUERY_WORDS: usize = 64;
/// Most hits one search returns.
pub const MAX_HITS: usize = 1000;
/// Characters of a body `ts_headline` reads for a snippet.
pub const SNIPPET_SCAN_CHARS: i32 = 200_000;

/// A page as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPage {
    pub url: String,
    /// The tenant it was read for; `None` for a shared page.
    pub owner: Option<String>,
    pub title: Option<String>,
    pub text: String,
    pub published: Option<NaiveDate>,
    /// Kept to the microsecond.
    pub fetched_at: DateTime<Utc>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct PageHit {
    pub url: String,
    pub title: Option<String>,
    /// Plain text around the query's words, when asked for.
    pub snippet: Option<String>,
    pub published: Option<NaiveDate>,
    /// `ts_rank_cd`, higher is better.
    pub score: f32,
}

/// The page index of one PostgreSQL database (and schema). Cheap to clone; shares the pool
/// of the [`crate::postgres::PgStore`] it came from.
#[derive(Clone)]
pub struct PgPages {
    pool: Pool,
}

impl std::fmt::Debug for PgPages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPages").finish_non_exhaustive()
    }
}

/// The words of free text: runs of letters and digits, at most [`MAX_QUERY_WORDS`].
pub fn query_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(MAX_QUERY_WORDS)
        .map(str::to_owned)
        .collect()
}

fn owner_key(owner: Option<&str>) -> &str {
    owner.unwrap_or(SHARED_OWNER)
}

fn clean(text: &str) -> String {
    text.replace('\0', "")
}

/// Dates cross the wire as ISO text (`YYYY-MM-DD`, which PostgreSQL reads whatever its
/// `DateStyle`): the driver is built without chrono support.
fn date(text: Option<String>) -> Option<NaiveDate> {
    text.and_then(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok())
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// The tsquery of `$1` (an array of words): each a quoted lexeme, OR-ed.
const QUERY_SQL: &str = "to_tsquery('english'::regconfig, \
     coalesce((SELECT string_agg(quote_literal(w), ' | ') FROM unnest($1::text[]) AS w), ''))";

impl PgPages {
    pub(crate) fn new(pool: Pool) -> Self {
        PgPages { pool }
    }

    async fn client(&self) -> Result<deadpool_postgres::Client> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => StoreError::Postgres(e),
            other => StoreError::Pool(error_text(&other)),
        })
    }

    /// Adds or replaces `pages` (by owner and URL) in one statement; they are searchable by
    /// every node once this returns.
    pub async fn upsert(&self, pages: &[StoredPage]) -> Result<()> {
        // One row per (owner, url): the statement may not touch a row twice.
        let mut last: HashMap<(&str, &str), usize> = HashMap::new();
        for (i, page) in pages.iter().enumerate() {
            last.insert((owner_key(page.owner.as_deref()), page.url.trim()), i);
        }
        let mut order: Vec<usize> = last.into_values().collect();
        order.sort_unstable();
        let (mut owners, mut urls, mut titles, mut bodies, mut published, mut fetched) =
            (vec![], vec![], vec![], vec![], vec![], vec![]);
        for page in order.into_iter().map(|i| &pages[i]) {
            if page.url.trim().is_empty() {
                continue;
            }
            owners.push(clean(owner_key(page.owner.as_deref())));
            urls.push(clean(page.url.trim()));
            titles.push(page.title.as_deref().map(clean));
            bodies.push(clean(&page.text));
            published.push(page.published.map(|d| d.format("%Y-%m-%d").to_string()));
            fetched.push(micros(page.fetched_at));
        }
        if urls.is_empty() {
            return Ok(());
        }
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO pages (owner, url, title, body, published, fetched_at)
                 SELECT o, u, t, b, d::date, f
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],
                             $5::text[], $6::bigint[]) AS x(o, u, t, b, d, f)
                 ON CONFLICT (owner, url) DO UPDATE SET
                     title = EXCLUDED.title, body = EXCLUDED.body,
                     published = EXCLUDED.published, fetched_at = EXCLUDED.fetched_at",
            )
            .await?;
        client
            .execute(
                &stmt,
                &[&owners, &urls, &titles, &bodies, &published, &fetched],
            )
            .await?;
        Ok(())
    }

    /// The page under `url` that `tenant` may see: its own copy, else the shared one. `None`
    /// for `tenant` sees shared pages only.
    pub async fn get_visible(&self, url: &str, tenant: Option<&str>) -> Result<Option<StoredPage>> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT owner, url, title, body, to_char(published, 'YYYY-MM-DD'), fetched_at
                 FROM pages
                 WHERE url = $1 AND owner IN ($2, '*')
                 ORDER BY owner = '*' LIMIT 1",
            )
            .await?;
        let tenant = tenant.unwrap_or(SHARED_OWNER);
        let row = client.query_opt(&stmt, &[&url.trim(), &tenant]).await?;
        row.map(|row| {
            let owner: String = row.try_get(0)?;
            Ok(StoredPage {
                owner: (owner != SHARED_OWNER).then_some(owner),
                url: row.try_get(1)?,
                title: row.try_get(2)?,
                text: row.try_get(3)?,
                published: date(row.try_get(4)?),
                fetched_at: from_micros(row.try_get(5)?),
            })
        })
        .transpose()
    }

    /// The pages `tenant` may see that match `text`'s words, best first, at most
    /// `max_results` (and [`MAX_HITS`]); with `snippets`, each with a snippet.
    pub async fn search(
        &self,
        text: &str,
        tenant: Option<&str>,
        max_results: usize,
        snippets: bool,
    ) -> Result<Vec<PageHit>> {
        let words = query_words(text);
        let limit = max_results.min(MAX_HITS) as i64;
        if words.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let sql = format!(
            "WITH q AS (SELECT {QUERY_SQL} AS query),
             matched AS (
                 SELECT DISTINCT ON (p.url) p.owner, p.url, p.title, p.published,
                        ts_rank_cd(p.search, q.query) AS score
                 FROM pages p, q
                 WHERE p.owner IN ($2, '*') AND p.search @@ q.query
                 ORDER BY p.url, p.owner = '*'
             ),
             top AS (SELECT * FROM matched ORDER BY score DESC, url LIMIT $3)
             SELECT top.url, top.title, to_char(top.published, 'YYYY-MM-DD'), top.score,
                    CASE WHEN $4 THEN ts_headline('english'::regconfig,
                        left(p.body, {SNIPPET_SCAN_CHARS}), q.query,
                        'StartSel=\"\", StopSel=\"\", MaxWords=45, MinWords=20, MaxFragments=1')
                    END
             FROM top JOIN pages p ON p.owner = top.owner AND p.url = top.url, q
             ORDER BY top.score DESC, top.url"
        );
        let stmt = client.prepare_cached(&sql).await?;
        let tenant = tenant.unwrap_or(SHARED_OWNER);
        let rows = client
            .query(&stmt, &[&words, &tenant, &limit, &snippets])
            .await?;
        rows.iter()
            .map(|row| {
                let snippet: Option<String> = row.try_get(4)?;
                Ok(PageHit {
                    url: row.try_get(0)?,
                    title: row.try_get(1)?,
                    published: date(row.try_get(2)?),
                    score: row.try_get(3)?,
                    snippet: snippet
                        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
                        .filter(|s| !s.is_empty()),
                })
            })
            .collect()
    }

    /// How many pages the table holds (every tenant's and the shared ones).
    pub async fn count(&self) -> Result<usize> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM pages", &[])
            .await?
            .try_get(0)?;
        Ok(usize::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_letters_and_digits_only() {
        assert_eq!(
            query_words("\"quokka\" AND -census: (2024) OR !x & y's 'é'"),
            vec!["quokka", "AND", "census", "2024", "OR", "x", "y", "s", "é"]
        );
        assert!(query_words(" :- \"' ").is_empty());
        assert_eq!(query_words(&"w ".repeat(100)).len(), MAX_QUERY_WORDS);
    }
}
