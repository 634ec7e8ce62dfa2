//! `roster users export`: every user of an account, read in keyset pages and written as they
//! come (a million users never sit in memory), with their links by name. No secrets: no
//! password hash, no SIP password.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use serde::Serialize;
use tokio::sync::mpsc;

use super::{COLUMNS, Format, csv_cell, join_list};
use crate::error::{Error, Result};
use crate::model::user::{Assignments, TwoFactorMethod, TwoFactorMode, UserRecord, UserStatus};
use crate::model::user_filter::UserFilter;
use crate::store::users as store;
use crate::store::{Store, accounts};

pub struct ExportOptions {
    pub account: String,
    pub format: Format,
    /// `None`: standard output.
    pub output: Option<PathBuf>,
}

/// Users read per page.
const PAGE: i64 = 1000;

/// One exported user; the fields are in the order of [`COLUMNS`].
#[derive(Debug, Serialize)]
pub(super) struct ExportUser {
    login: String,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    extension: Option<String>,
    sip_username: Option<String>,
    phone_topology: Option<String>,
    company: Option<String>,
    related_contact: Option<String>,
    external_id: Option<String>,
    time_zone: Option<String>,
    date_format: Option<String>,
    time_format: Option<String>,
    receive_email: bool,
    receive_sms: bool,
    is_agent: bool,
    is_supervisor: bool,
    is_superuser: bool,
    is_end_user: bool,
    is_company_supervisor: bool,
    status: UserStatus,
    two_factor_method: TwoFactorMethod,
    two_factor_mode: TwoFactorMode,
    must_change_password: bool,
    roles: Vec<String>,
    groups: Vec<String>,
    desks: Vec<String>,
    skills: Vec<String>,
    permissions: Vec<String>,
}

impl ExportUser {
    pub(super) fn new(r: UserRecord, a: Assignments) -> Self {
        let names = |refs: Vec<crate::model::user::Ref>| refs.into_iter().map(|r| r.name).collect();
        // Named field by field, so that a secret added to `UserRecord` is never exported by accident.
        ExportUser {
            login: r.login,
            email: r.email,
            first_name: r.first_name,
            last_name: r.last_name,
            phone: r.phone,
            mobile: r.mobile,
            extension: r.extension,
            sip_username: r.sip_username,
            phone_topology: r.phone_topology,
            company: r.company,
            related_contact: r.related_contact,
            external_id: r.external_id,
            time_zone: r.time_zone,
            date_format: r.date_format,
            time_format: r.time_format,
            receive_email: r.receive_email,
            receive_sms: r.receive_sms,
            is_agent: r.is_agent,
            is_supervisor: r.is_supervisor,
            is_superuser: r.is_superuser,
            is_end_user: r.is_end_user,
            is_company_supervisor: r.is_company_supervisor,
            status: r.status,
            two_factor_method: r.two_factor_method,
            two_factor_mode: r.two_factor_mode,
            must_change_password: r.must_change_password,
            roles: names(a.roles),
            groups: names(a.groups),
            desks: names(a.desks),
            skills: names(a.skills),
            permissions: a.permissions,
        }
    }

    /// The CSV cells, in the order of [`COLUMNS`].
    fn csv_record(&self) -> [String; COLUMNS.len()] {
        let t = |v: &Option<String>| v.clone().unwrap_or_default();
        let b = |v: bool| v.to_string();
        [
            self.login.clone(),
            t(&self.email),
            t(&self.first_name),
            t(&self.last_name),
            t(&self.phone),
            t(&self.mobile),
            t(&self.extension),
            t(&self.sip_username),
            t(&self.phone_topology),
            t(&self.company),
            t(&self.related_contact),
            t(&self.external_id),
            t(&self.time_zone),
            t(&self.date_format),
            t(&self.time_format),
            b(self.receive_email),
            b(self.receive_sms),
            b(self.is_agent),
            b(self.is_supervisor),
            b(self.is_superuser),
            b(self.is_end_user),
            b(self.is_company_supervisor),
            self.status.as_str().to_string(),
            self.two_factor_method.as_str().to_string(),
            self.two_factor_mode.as_str().to_string(),
            b(self.must_change_password),
            join_list(&self.roles),
            join_list(&self.groups),
            join_list(&self.desks),
            join_list(&self.skills),
            join_list(&self.permissions),
        ]
    }
}

/// Writes the pages it receives; runs on a blocking thread.
fn write_pages(
    out: Box<dyn Write + Send>,
    format: Format,
    mut rx: mpsc::Receiver<Vec<ExportUser>>,
) -> anyhow::Result<()> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(COLUMNS)?;
            while let Some(page) = rx.blocking_recv() {
                for user in &page {
                    // No cell a spreadsheet would run as a formula (D9); import takes the `'` off.
                    w.write_record(user.csv_record().map(csv_cell))?;
                }
            }
            w.flush()?;
        }
        Format::Json => {
            let mut w = std::io::BufWriter::new(out);
            w.write_all(b"[")?;
            let mut first = true;
            while let Some(page) = rx.blocking_recv() {
                for user in &page {
                    w.write_all(if first { b"\n" } else { b",\n" })?;
                    serde_json::to_writer(&mut w, user)?;
                    first = false;
                }
            }
            w.write_all(if first { b"]\n" } else { b"\n]\n" })?;
            w.flush()?;
        }
    }
    Ok(())
}

/// Writes every user of the account; returns how many.
pub async fn export(db: &Store, opts: &ExportOptions) -> Result<u64> {
    let mut conn = db.read().await?;
    let account = accounts::by_slug(&mut conn, &opts.account).await?.ok_or(Error::NotFound("account"))?;
    let total = store::count_in_account(&mut conn, account.id).await?;
    let out: Box<dyn Write + Send> = match &opts.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| Error::BadRequest(format!("cannot write {}: {e}", path.display())))?,
        ),
        None => Box::new(std::io::stdout()),
    };
    // A bar would garble what a terminal shows of the export itself.
    let bar = if opts.output.is_none() && std::io::stdout().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        super::progress(total.max(0) as u64, "exporting {wide_bar} {pos}/{len} users, {eta} left")
    };
    let (tx, rx) = mpsc::channel(2);
    let format = opts.format;
    let writer = tokio::task::spawn_blocking(move || write_pages(out, format, rx));
    let mut after: Option<String> = None;
    let mut count = 0u64;
    let read = async {
        loop {
            let records = store::list(
                &mut conn,
                account.id,
                &crate::store::grants::Seen::All,
                &UserFilter::default(),
                after.as_deref(),
                PAGE,
            )
            .await?;
            let Some(last) = records.last() else { break };
            after = Some(last.login.to_ascii_lowercase());
            let ids: Vec<_> = records.iter().map(|r| r.id).collect();
            let mut links = store::assignments(&mut conn, &ids).await?;
            let page: Vec<ExportUser> = records
                .into_iter()
                .map(|r| {
                    let a = links.remove(&r.id).unwrap_or_default();
                    ExportUser::new(r, a)
                })
                .collect();
            count += page.len() as u64;
            bar.set_position(count);
            if tx.send(page).await.is_err() {
                break; // the writer failed; its error is reported below
            }
        }
        drop(tx);
        Ok::<_, Error>(())
    };
    let read_result = read.await;
    let write_result = writer.await.map_err(|e| Error::Internal(e.into()))?;
    bar.finish_and_clear();
    let result = read_result.and_then(|()| {
        write_result.map_err(|e| {
            let target =
                opts.output.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "standard output".into());
            Error::Internal(e.context(format!("writing the export to {target}")))
        })
    });
    if result.is_err()
        && let Some(path) = &opts.output
    {
        let _ = std::fs::remove_file(path);
    }
    result.map(|()| count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_fields_follow_the_csv_columns() {
        let user = ExportUser::new(
            UserRecord { sip_password: Some("sip-secret".into()), ..UserRecord::sample() },
            Assignments::default(),
        );
        let json = serde_json::to_string(&user).unwrap();
        let keys: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&json).unwrap();
        assert_eq!(keys.len(), COLUMNS.len());
        let at: Vec<usize> = COLUMNS.iter().map(|c| json.find(&format!("\"{c}\":")).expect(c)).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "the JSON order is the CSV order: {json}");
        assert_eq!(user.csv_record().len(), COLUMNS.len());
        assert!(!json.contains("sip-secret"));
    }
}
