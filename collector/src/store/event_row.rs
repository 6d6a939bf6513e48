//! An event as every store keeps it: the 11 columns (id … body) and how it counts, mapped from a
//! received event here once, and read back as this row by export (SQLite and ClickHouse alike).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use splitbeam_core::event::EventKind;

use crate::ingest::Received;

/// One stored event. Field names are the column names (ClickHouse's JSONEachRow uses them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRow<'a> {
    pub id: Cow<'a, str>,
    /// exposure, goal or pageview.
    #[serde(rename = "type")]
    pub kind: Cow<'a, str>,
    pub ts: i64,
    pub visitor: Cow<'a, str>,
    pub session: Cow<'a, str>,
    pub url: Cow<'a, str>,
    /// Exposures only.
    pub experiment: Option<Cow<'a, str>>,
    pub variant: Option<Cow<'a, str>>,
    /// Goals only.
    pub goal: Option<Cow<'a, str>>,
    pub value: Option<f64>,
    /// The event's JSON as received: export writes it verbatim.
    pub body: Cow<'a, str>,
    /// Rows stored before these columns existed count and are no bot's.
    #[serde(with = "as_u8", default = "counted_by_default")]
    pub counted: bool,
    #[serde(with = "as_u8", default)]
    pub bot: bool,
}

impl EventRow<'_> {
    /// The columns, in the order of `sql_params` and `from_sql`.
    pub const COLUMNS: &'static str = "id, type, ts, visitor, session, url, experiment, variant, goal, value, body, counted, bot";

    /// The values for `INSERT … (COLUMNS) VALUES (?1, …, ?13)`.
    pub fn sql_params(&self) -> [&dyn rusqlite::ToSql; 13] {
        [
            &self.id,
            &self.kind,
            &self.ts,
            &self.visitor,
            &self.session,
            &self.url,
            &self.experiment,
            &self.variant,
            &self.goal,
            &self.value,
            &self.body,
            &self.counted,
            &self.bot,
        ]
    }

    /// The same row, owning its text (to keep it past an export callback).
    pub fn into_owned(self) -> EventRow<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        EventRow {
            id: own(self.id),
            kind: own(self.kind),
            ts: self.ts,
            visitor: own(self.visitor),
            session: own(self.session),
            url: own(self.url),
            experiment: self.experiment.map(own),
            variant: self.variant.map(own),
            goal: self.goal.map(own),
            value: self.value,
            body: own(self.body),
            counted: self.counted,
            bot: self.bot,
        }
    }

    /// A row of `SELECT COLUMNS …`.
    pub fn from_sql(row: &rusqlite::Row) -> rusqlite::Result<EventRow<'static>> {
        let text = |i: usize| row.get::<_, String>(i).map(Cow::Owned);
        let optional = |i: usize| row.get::<_, Option<String>>(i).map(|s| s.map(Cow::Owned));
        Ok(EventRow {
            id: text(0)?,
            kind: text(1)?,
            ts: row.get(2)?,
            visitor: text(3)?,
            session: text(4)?,
            url: text(5)?,
            experiment: optional(6)?,
            variant: optional(7)?,
            goal: optional(8)?,
            value: row.get(9)?,
            body: text(10)?,
            counted: row.get(11)?,
            bot: row.get(12)?,
        })
    }
}

impl<'a> From<&'a Received> for EventRow<'a> {
    fn from(received: &'a Received) -> EventRow<'a> {
        let e = &received.event;
        let (experiment, variant, goal, value) = match &e.kind {
            EventKind::Exposure { experiment, variant } => (Some(experiment), Some(variant), None, None),
            EventKind::Goal { goal, value, .. } => (None, None, Some(goal), *value),
            EventKind::Pageview { .. } => (None, None, None, None),
        };
        let borrowed = |s: Option<&'a String>| s.map(|s| Cow::Borrowed(s.as_str()));
        EventRow {
            id: Cow::Borrowed(&e.id),
            kind: Cow::Borrowed(e.kind.type_name()),
            // The reader refuses timestamps past 2^53, far inside i64.
            ts: i64::try_from(e.ts).unwrap_or(i64::MAX),
            visitor: Cow::Borrowed(&e.visitor),
            session: Cow::Borrowed(&e.session),
            url: Cow::Borrowed(&e.url),
            experiment: borrowed(experiment),
            variant: borrowed(variant),
            goal: borrowed(goal),
            value,
            body: Cow::Borrowed(&received.body),
            counted: received.counted,
            bot: received.bot,
        }
    }
}

fn counted_by_default() -> bool {
    true
}

/// ClickHouse keeps flags as UInt8.
mod as_u8 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(flag: &bool, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(u8::from(*flag))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
        Ok(u8::deserialize(deserializer)? != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_goal_maps_to_its_columns_and_back_through_clickhouse_json() {
        let body = r#"{"id":"g1","type":"goal","goal":"buy","value":12.5,"ts":5,"visitor":"v","session":"s","url":"/c","experiments":{"x":"b"}}"#;
        let parsed = crate::ingest::parse_batch(format!(r#"{{"events":[{body}]}}"#).as_bytes()).expect("valid batch");
        let row = EventRow::from(&parsed[0]);
        assert_eq!((row.kind.as_ref(), row.goal.as_deref(), row.value, row.experiment.as_deref()), ("goal", Some("buy"), Some(12.5), None));
        let json = serde_json::to_string(&row).expect("a row serializes");
        assert!(json.contains(r#""type":"goal""#) && json.contains(r#""counted":1"#), "{json}");
        let back: EventRow<'static> = serde_json::from_str(&json).expect("the row reads back");
        assert_eq!(back, row);
    }

    #[test]
    fn a_clickhouse_row_from_before_the_counting_columns_counts_and_is_no_bot() {
        let json = r#"{"id":"e","type":"pageview","ts":1,"visitor":"v","session":"s","url":"/","experiment":null,"variant":null,"goal":null,"value":null,"body":"{}"}"#;
        let row: EventRow<'static> = serde_json::from_str(json).expect("an old row reads");
        assert!(row.counted && !row.bot);
    }
}
