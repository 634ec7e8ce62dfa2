//! `roster users export` and `roster users import`: every user of an account as CSV or JSON,
//! with roles, groups, desks and skills by name. Both use one set of columns, so an export
//! imports as it is into another account (whose roles, groups, desks and skills have the
//! same names). Secrets are never exported; an import may carry plain passwords.

mod export;
mod import;
mod rows;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

pub use export::{ExportOptions, export};
pub use import::{BadRow, ImportOptions, ImportReport, import};
pub use rows::Pos;

use crate::error::explain;
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One row per user; lists (roles, groups, desks, skills, permissions) joined with `;`.
    Csv,
    /// An array of objects; lists as arrays.
    Json,
}

impl Format {
    /// From the file name's extension (`.csv`, `.json`).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
}

/// The columns, in export order. Import takes them in any order, plus `password`.
pub const COLUMNS: [&str; 31] = [
    "login",
    "email",
    "first_name",
    "last_name",
    "phone",
    "mobile",
    "extension",
    "sip_username",
    "phone_topology",
    "company",
    "related_contact",
    "external_id",
    "time_zone",
    "date_format",
    "time_format",
    "receive_email",
    "receive_sms",
    "is_agent",
    "is_supervisor",
    "is_superuser",
    "is_end_user",
    "is_company_supervisor",
    "status",
    "two_factor_method",
    "two_factor_mode",
    "must_change_password",
    "roles",
    "groups",
    "desks",
    "skills",
    "permissions",
];

/// Import only: a plain password, hashed on import. Never exported.
pub const PASSWORD: &str = "password";
/// Import only: a password hash from another system (argon2, bcrypt, Django's pbkdf2_sha256
/// or argon2), kept as it is and upgraded to Roster's argon2id at the user's next sign-in.
pub const PASSWORD_HASH: &str = "password_hash";

/// Joins names into one CSV cell: `;` between them; a `;` or `\` inside a name is escaped with `\`.
pub fn join_list<S: AsRef<str>>(names: &[S]) -> String {
    names.iter().map(|n| n.as_ref().replace('\\', "\\\\").replace(';', "\\;")).collect::<Vec<_>>().join(";")
}

/// The inverse of [`join_list`]; blanks around names and empty names are dropped.
pub fn split_list(cell: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = cell.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            ';' => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    out.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// What a spreadsheet may take as the start of a formula (OWASP, CSV injection).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `value`, past any leading `'`, starts like a formula.
fn formula_like(value: &str) -> bool {
    value.trim_start_matches('\'').starts_with(FORMULA_STARTS)
}

/// A CSV cell no spreadsheet runs as a formula (D9): a value starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return gets a leading `'`, as OWASP advises (`+4930…` becomes
/// `'+4930…`). So does a value that starts with `'`s and then such a character, so that
/// [`csv_cell_value`] gives every value back as it was.
pub fn csv_cell(value: String) -> String {
    if formula_like(&value) { format!("'{value}") } else { value }
}

/// The value of a CSV cell written by [`csv_cell`]: the one `'` it added is taken off.
pub fn csv_cell_value(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if formula_like(rest) => rest,
        _ => cell,
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub(crate) fn progress(len: u64, template: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        indicatif::ProgressStyle::with_template(template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

// ---- the command line -------------------------------------------------------------------

/// `roster users export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The account whose users to export (its slug).
    #[arg(long, default_value = crate::model::account::DEFAULT_ACCOUNT)]
    pub account: String,
    /// `csv` or `json`. By default taken from the output file's extension, else `csv`.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// The file to write; `-` (the default) is standard output. An existing file is replaced.
    #[arg(long, short, value_name = "FILE|-")]
    pub output: Option<PathBuf>,
}

/// `roster users import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A CSV file with a header row, or a JSON array of objects, with the columns of
    /// `roster users export`, in any order, only `login` required: login, email, first_name,
    /// last_name, phone, mobile, extension, sip_username, phone_topology, company,
    /// related_contact, external_id, time_zone, date_format, time_format, receive_email,
    /// receive_sms, is_agent, is_supervisor, is_superuser, is_end_user, is_company_supervisor,
    /// status, two_factor_method, two_factor_mode, must_change_password, roles, groups, desks, skills,
    /// permissions; and optionally password (at least 8 characters; hashed). An empty value is
    /// no value. Roles, groups, desks and skills are named (case-insensitively) and must exist
    /// in the account; in CSV, lists are joined with `;` (write `\;` for a `;` inside a name).
    /// Bad rows are named by CSV line or by JSON item (counted from 1). Users without a
    /// password cannot sign in until an admin sets one.
    pub file: PathBuf,
    /// The account to import into (its slug).
    #[arg(long, default_value = crate::model::account::DEFAULT_ACCOUNT)]
    pub account: String,
    /// `csv` or `json`. By default taken from the file's extension.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Check every row and report the bad ones, but write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import with the rights of this user of the account (their login), as if they created
    /// the users themselves: only roles, groups and permissions they may give, only users within
    /// their scope; recorded as theirs. Without it, the import runs with the database's authority.
    #[arg(long = "as", value_name = "LOGIN")]
    pub acting_as: Option<String>,
}

pub async fn run_export(store: &Store, args: ExportArgs) -> anyhow::Result<()> {
    let output = args.output.filter(|p| p.as_os_str() != "-");
    let format = args.format.or_else(|| output.as_deref().and_then(Format::from_path)).unwrap_or(Format::Csv);
    let options = ExportOptions { account: args.account, format, output };
    let count = export(store, &options).await.map_err(explain)?;
    if let Some(path) = &options.output {
        eprintln!("Exported {count} users of {} to {}.", options.account, path.display());
    }
    Ok(())
}

pub async fn run_import(store: &Store, args: ImportArgs) -> anyhow::Result<()> {
    let Some(format) = args.format.or_else(|| Format::from_path(&args.file)) else {
        anyhow::bail!("cannot tell the format of {}: name it .csv or .json, or pass --format", args.file.display());
    };
    let options = ImportOptions {
        file: args.file,
        account: args.account,
        format,
        dry_run: args.dry_run,
        acting_as: args.acting_as,
    };
    let report = import(store, &options).await.map_err(explain)?;
    for bad in &report.bad {
        for issue in &bad.issues {
            eprintln!("{}: {}: {}", bad.pos, issue.field, issue.message);
        }
    }
    if !report.bad.is_empty() {
        anyhow::bail!("{} of {} rows are not valid; nothing was imported.", report.bad.len(), report.rows);
    }
    if options.dry_run {
        println!("All {} rows are valid. Nothing was written (--dry-run).", report.rows);
    } else {
        println!("Imported {} users into {}.", report.imported, options.account);
    }
    if report.without_password > 0 {
        println!("{} of them have no password: they cannot sign in until an admin sets one.", report.without_password);
    }
    Ok(())
}

/// A user as the export writes it (JSON) and the import reads it back: the input the row makes
/// (or what the import found wrong with it). For the field-coverage test in `users::service`.
#[cfg(test)]
pub(crate) fn exported_then_imported(
    record: crate::model::user::UserRecord,
) -> crate::error::Result<crate::users::input::UserInput> {
    let exported = export::ExportUser::new(record, crate::model::user::Assignments::default());
    let value = serde_json::to_value(&exported).expect("an exported user serialises");
    let mut issues = crate::error::Issues::new();
    let parsed = rows::parse(rows::json_row(Pos::Item(1), value), &mut issues);
    issues.into_result().map(|()| parsed.input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_survive_separators_and_backslashes_in_names() {
        let names = ["Sales", "R&D; Lab", "C:\\Ops", " "];
        assert_eq!(join_list(&names), "Sales;R&D\\; Lab;C:\\\\Ops; ");
        assert_eq!(split_list(&join_list(&names)), vec!["Sales", "R&D; Lab", "C:\\Ops"]);
        assert_eq!(split_list(" Sales ; ;support"), vec!["Sales", "support"]);
        assert!(split_list("").is_empty());
    }

    #[test]
    fn cells_that_look_like_formulas_are_neutralised_and_read_back() {
        let cell = |v: &str| csv_cell(v.to_string());
        for (value, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+4915112345678", "'+4915112345678"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            // Already starting with quotes before a formula character: one more, taken off again.
            ("'=1", "''=1"),
            ("''+1", "'''+1"),
            // Nothing to neutralise.
            ("Ann", "Ann"),
            ("O'Brien", "O'Brien"),
            ("'quoted'", "'quoted'"),
            ("'", "'"),
            ("", ""),
            ("a=b", "a=b"),
            (" =1", " =1"),
        ] {
            assert_eq!(cell(value), written, "{value:?}");
            assert_eq!(csv_cell_value(&cell(value)), value, "{value:?} round-trips");
        }
        // A cell typed by hand the way spreadsheets are told "this is text".
        assert_eq!(csv_cell_value("'+4930123456"), "+4930123456");
        assert_eq!(csv_cell_value("'Ann"), "'Ann");
    }

    #[test]
    fn the_import_help_names_every_column() {
        let command = <ImportArgs as clap::Args>::augment_args(clap::Command::new("import"));
        let file = command.get_arguments().find(|a| a.get_id() == "file").expect("a file argument");
        let help = file.get_long_help().or(file.get_help()).expect("help").to_string();
        for column in COLUMNS.iter().chain([&PASSWORD]) {
            let mut words = help.split(|c: char| !c.is_ascii_alphanumeric() && c != '_');
            assert!(words.any(|w| w == *column), "{column} is not in: {help}");
        }
    }

    #[test]
    fn the_format_comes_from_the_extension() {
        assert_eq!(Format::from_path(Path::new("a/users.CSV")), Some(Format::Csv));
        assert_eq!(Format::from_path(Path::new("users.json")), Some(Format::Json));
        assert_eq!(Format::from_path(Path::new("users.txt")), None);
        assert_eq!(Format::from_path(Path::new("users")), None);
    }
}
