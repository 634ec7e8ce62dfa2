//! Reading an import file, one row at a time, on a blocking thread: a CSV file with a header
//! row or a JSON array of objects, streamed (never whole in memory), each row as cells by
//! column. Then one row's cells as a `UserInput` and the names it links to.

use std::fmt;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::Value;
use tokio::sync::mpsc;

use super::{COLUMNS, Format, PASSWORD, PASSWORD_HASH, csv_cell_value, split_list};
use crate::error::Issues;
use crate::store::users::Link;
use crate::users::input::UserInput;

/// Where a row is, as reports name it: the CSV file's line, or the JSON array's item (from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pos {
    Line(u64),
    Item(u64),
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pos::Line(n) => write!(f, "line {n}"),
            Pos::Item(n) => write!(f, "item {n}"),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Cell {
    Text(String),
    Bool(bool),
    List(Vec<String>),
}

/// One row as read: its cells by column, and what was wrong with its shape.
#[derive(Debug)]
pub struct RawRow {
    pub pos: Pos,
    pub cells: Vec<(&'static str, Cell)>,
    /// `(field, message)`: unknown keys, wrong value types, a wrong number of CSV fields.
    pub problems: Vec<(String, String)>,
}

/// A row, or a problem that stops reading the file (unreadable, malformed, bad header).
pub type Item = Result<RawRow, String>;

fn column(name: &str) -> Option<&'static str> {
    COLUMNS.iter().copied().chain([PASSWORD, PASSWORD_HASH]).find(|c| *c == name)
}

/// Counts the bytes read, for a progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads `path` on a blocking thread; rows arrive in file order. Reading stops after the
/// first `Err`, or when the receiver is dropped.
pub fn spawn_reader(path: PathBuf, format: Format, read: Arc<AtomicU64>) -> mpsc::Receiver<Item> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::task::spawn_blocking(move || {
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(format!("cannot read {}: {e}", path.display())));
                return;
            }
        };
        let input = Counting { inner: BufReader::with_capacity(256 * 1024, file), read };
        let result = match format {
            Format::Csv => read_csv(input, &tx),
            Format::Json => read_json(input, &tx),
        };
        if let Err(message) = result
            && !message.is_empty()
        {
            let _ = tx.blocking_send(Err(message));
        }
    });
    rx
}

/// An empty `Err` when the receiver is gone: stop quietly.
fn send(tx: &mpsc::Sender<Item>, row: RawRow) -> Result<(), String> {
    tx.blocking_send(Ok(row)).map_err(|_| String::new())
}

fn read_csv(input: impl Read, tx: &mpsc::Sender<Item>) -> Result<(), String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
    let mut records = reader.records();
    let header = match records.next() {
        None => return Ok(()),
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(format!("line 1: cannot read the header row: {e}")),
    };
    let mut columns: Vec<&'static str> = Vec::with_capacity(header.len());
    for name in header.iter() {
        let name = name.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
        let Some(c) = column(&name) else {
            return Err(format!(
                "line 1: unknown column {name:?}; the columns are {}, {PASSWORD}, {PASSWORD_HASH}",
                COLUMNS.join(", ")
            ));
        };
        if columns.contains(&c) {
            return Err(format!("line 1: the column {c} appears twice"));
        }
        columns.push(c);
    }
    if !columns.contains(&"login") {
        return Err("line 1: the header row has no login column".into());
    }
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(format!("line {line}: {e}"));
                }
                let row =
                    RawRow { pos: Pos::Line(line), cells: Vec::new(), problems: vec![("row".into(), e.to_string())] };
                send(tx, row)?;
                continue;
            }
        };
        let pos = Pos::Line(record.position().map(|p| p.line()).unwrap_or(0));
        let mut problems = Vec::new();
        if record.len() != columns.len() {
            problems
                .push(("row".into(), format!("has {} fields where the header has {}", record.len(), columns.len())));
        }
        let cells = columns
            .iter()
            // Export put a `'` before cells that start like formulas (D9): take it off.
            .zip(record.iter().map(csv_cell_value))
            .filter(|(_, v)| !v.trim().is_empty())
            .map(|(c, v)| (*c, Cell::Text(v.to_string())))
            .collect();
        send(tx, RawRow { pos, cells, problems })?;
    }
    Ok(())
}

fn read_json(input: impl Read, tx: &mpsc::Sender<Item>) -> Result<(), String> {
    let mut de = serde_json::Deserializer::from_reader(input);
    match (Items { tx }).deserialize(&mut de).and_then(|()| de.end()) {
        Ok(()) => Ok(()),
        // The receiver went away: nothing to report.
        Err(e) if e.to_string().starts_with(STOPPED) => Err(String::new()),
        Err(e) => Err(format!("the JSON is not valid: {e}")),
    }
}

const STOPPED: &str = "import stopped";

/// Streams the items of the top-level array, one `Value` at a time.
struct Items<'a> {
    tx: &'a mpsc::Sender<Item>,
}

impl<'de> DeserializeSeed<'de> for Items<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of user objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0;
        while let Some(value) = seq.next_element::<Value>()? {
            n += 1;
            if send(self.tx, json_row(Pos::Item(n), value)).is_err() {
                return Err(serde::de::Error::custom(STOPPED));
            }
        }
        Ok(())
    }
}

pub(super) fn json_row(pos: Pos, value: Value) -> RawRow {
    let mut row = RawRow { pos, cells: Vec::new(), problems: Vec::new() };
    let Value::Object(map) = value else {
        row.problems.push(("item".into(), "must be an object with the user's fields".into()));
        return row;
    };
    for (key, value) in map {
        let Some(c) = column(&key) else {
            row.problems.push((key, "is not a known column".into()));
            continue;
        };
        let cell = match value {
            Value::Null => continue,
            // As in CSV, an empty value is no value.
            Value::String(s) if s.trim().is_empty() => continue,
            Value::String(s) => Cell::Text(s),
            Value::Bool(b) => Cell::Bool(b),
            Value::Number(n) => Cell::Text(n.to_string()),
            Value::Array(items) => {
                let names: Option<Vec<String>> = items.into_iter().map(|v| v.as_str().map(str::to_string)).collect();
                match names {
                    Some(names) => Cell::List(names),
                    None => {
                        row.problems.push((c.into(), "must be a list of names (strings)".into()));
                        continue;
                    }
                }
            }
            Value::Object(_) => {
                row.problems.push((c.into(), "must be text, true or false, or a list".into()));
                continue;
            }
        };
        row.cells.push((c, cell));
    }
    row
}

/// One row as the services take it: the fields (with the password, checked by
/// `UserInput::to_fields`), and the names of the roles, groups, desks and skills.
pub struct Parsed {
    pub input: UserInput,
    pub names: Vec<(Link, Vec<String>)>,
    pub password_hash: Option<String>,
}

fn link_of(column: &str) -> Option<Link> {
    Link::ALL.into_iter().find(|l| l.field() == column)
}

fn flag(issues: &mut Issues, column: &str, cell: Cell) -> Option<bool> {
    match cell {
        Cell::Bool(b) => Some(b),
        Cell::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => {
                issues.add(column, "not_a_flag", format!("must be true or false, not {t:?}"));
                None
            }
        },
        Cell::List(_) => {
            issues.add(column, "not_a_flag", "must be true or false");
            None
        }
    }
}

/// The cells as a `UserInput`; shape problems and bad flags go to `issues`.
pub fn parse(row: RawRow, issues: &mut Issues) -> Parsed {
    for (field, message) in row.problems {
        issues.add(&field, "shape", message);
    }
    let mut input = UserInput::default();
    let mut names = Vec::new();
    let mut password_hash = None;
    for (column, cell) in row.cells {
        if let Some(link) = link_of(column) {
            let list = match cell {
                Cell::List(v) => v.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
                Cell::Text(t) => split_list(&t),
                Cell::Bool(_) => {
                    issues.add(column, "not_a_list", "must be a list of names");
                    continue;
                }
            };
            names.push((link, list));
            continue;
        }
        if matches!(
            column,
            "receive_email"
                | "receive_sms"
                | "is_agent"
                | "is_supervisor"
                | "is_superuser"
                | "is_end_user"
                | "is_company_supervisor"
                | "must_change_password"
        ) {
            let value = flag(issues, column, cell);
            match column {
                "receive_email" => input.receive_email = value,
                "receive_sms" => input.receive_sms = value,
                "is_agent" => input.is_agent = value,
                "is_supervisor" => input.is_supervisor = value,
                "is_superuser" => input.is_superuser = value,
                "is_end_user" => input.is_end_user = value,
                "is_company_supervisor" => input.is_company_supervisor = value,
                _ => input.must_change_password = value,
            }
            continue;
        }
        if column == "permissions" {
            input.permissions = Some(match cell {
                Cell::List(v) => v,
                Cell::Text(t) => split_list(&t),
                Cell::Bool(_) => {
                    issues.add(column, "not_a_list", "must be a list of permissions");
                    continue;
                }
            });
            continue;
        }
        let Cell::Text(text) = cell else {
            issues.add(column, "not_text", "must be text");
            continue;
        };
        let value = Some(Some(text.clone()));
        match column {
            "login" => input.login = Some(text),
            "email" => input.email = value,
            "first_name" => input.first_name = value,
            "last_name" => input.last_name = value,
            "phone" => input.phone = value,
            "mobile" => input.mobile = value,
            "extension" => input.extension = value,
            "sip_username" => input.sip_username = value,
            "phone_topology" => input.phone_topology = value,
            "company" => input.company = value,
            "related_contact" => input.related_contact = value,
            "external_id" => input.external_id = value,
            "time_zone" => input.time_zone = value,
            "date_format" => input.date_format = value,
            "time_format" => input.time_format = value,
            "status" => input.status = Some(text),
            "two_factor_method" => input.two_factor_method = Some(text),
            "two_factor_mode" => input.two_factor_mode = Some(text),
            PASSWORD => input.password = Some(text.into()),
            PASSWORD_HASH => password_hash = Some(text),
            other => unreachable!("column {other} is handled above"),
        }
    }
    Parsed { input, names, password_hash }
}
