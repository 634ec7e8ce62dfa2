//! A small builder for statements whose shape depends on the request (filters, IN lists),
//! numbering `$n` placeholders the way both engines accept them.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryAs};
use sqlx::{Any, FromRow};

#[derive(Debug, Clone)]
pub enum Arg {
    Int(i64),
    Text(String),
    Bool(bool),
    /// A value that may be NULL.
    MaybeInt(Option<i64>),
    MaybeText(Option<String>),
    MaybeBool(Option<bool>),
}

impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::MaybeInt(v)
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::MaybeText(v)
    }
}
impl From<crate::clock::Timestamp> for Arg {
    fn from(v: crate::clock::Timestamp) -> Self {
        Arg::Int(v.as_ms())
    }
}
impl From<Option<crate::clock::Timestamp>> for Arg {
    fn from(v: Option<crate::clock::Timestamp>) -> Self {
        Arg::MaybeInt(v.map(crate::clock::Timestamp::as_ms))
    }
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::Int(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_string())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Sql {
    text: String,
    args: Vec<Arg>,
}

/// `text` for the inside of a `LIKE … ESCAPE '\\'` pattern: its `\\`, `%` and `_` match themselves.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Sql { text: text.into(), args: Vec::new() }
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `arg`.
    pub fn bind(&mut self, arg: impl Into<Arg>) -> &mut Self {
        self.args.push(arg.into());
        self.text.push_str(&format!("${}", self.args.len()));
        self
    }

    /// Appends `$a, $b, …` bound to each item.
    pub fn bind_list<T: Into<Arg> + Clone>(&mut self, items: &[T]) -> &mut Self {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(item.clone());
        }
        self
    }

    /// Appends another fragment, renumbering its placeholders after ours.
    pub fn append(&mut self, other: &Sql) -> &mut Self {
        let offset = self.args.len();
        self.text.push_str(&renumber(&other.text, offset));
        self.args.extend(other.args.iter().cloned());
        self
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Statements built here have their shape and selectivity chosen by the request (a desk of
    /// ten users or half the account), so they are not kept prepared: PostgreSQL then plans
    /// each one with its actual values, where a cached generic plan chose parallel scans
    /// (200 ms instead of 1 ms).
    pub fn query(&self) -> Query<'_, Any, AnyArguments<'_>> {
        let mut q = sqlx::query(&self.text).persistent(false);
        for arg in &self.args {
            q = match arg {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Bool(v) => q.bind(*v),
                Arg::MaybeInt(v) => q.bind(*v),
                Arg::MaybeText(v) => q.bind(v.clone()),
                Arg::MaybeBool(v) => q.bind(*v),
            };
        }
        q
    }

    pub fn query_as<T>(&self) -> QueryAs<'_, Any, T, AnyArguments<'_>>
    where
        T: for<'r> FromRow<'r, AnyRow>,
    {
        let mut q = sqlx::query_as::<Any, T>(&self.text).persistent(false);
        for arg in &self.args {
            q = match arg {
                Arg::Int(v) => q.bind(*v),
                Arg::Text(v) => q.bind(v.clone()),
                Arg::Bool(v) => q.bind(*v),
                Arg::MaybeInt(v) => q.bind(*v),
                Arg::MaybeText(v) => q.bind(v.clone()),
                Arg::MaybeBool(v) => q.bind(*v),
            };
        }
        q
    }
}

fn renumber(text: &str, offset: usize) -> String {
    if offset == 0 {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' {
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            match digits.parse::<usize>() {
                Ok(n) => out.push_str(&(n + offset).to_string()),
                Err(_) => out.push_str(&digits),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        let mut sql = Sql::new("SELECT 1 WHERE a = ");
        sql.bind(1_i64).push(" AND b IN (").bind_list(&[2_i64, 3]).push(")");
        assert_eq!(sql.text(), "SELECT 1 WHERE a = $1 AND b IN ($2, $3)");
        assert_eq!(sql.args.len(), 3);
    }

    #[test]
    fn appended_fragments_are_renumbered() {
        let mut outer = Sql::new("x = ");
        outer.bind(1_i64).push(" AND ");
        let mut inner = Sql::new("y = ");
        inner.bind("a").push(" OR z = ").bind("b");
        outer.append(&inner);
        assert_eq!(outer.text(), "x = $1 AND y = $2 OR z = $3");
    }
}
