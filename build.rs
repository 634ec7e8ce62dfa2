//! Compiles `assets/common-passwords.txt` into an fst set in OUT_DIR, which
//! `src/passwords/common.rs` embeds with `include_bytes!`. An fst shares prefixes and
//! suffixes, so the ~100,000 passwords take a fraction of the text's size in the binary and
//! are searched in place, without building a hash set at start-up. Reads only that file.

use std::path::PathBuf;

fn main() {
    const LIST: &str = "assets/common-passwords.txt";
    println!("cargo::rerun-if-changed={LIST}");
    println!("cargo::rerun-if-changed=build.rs");

    let text = std::fs::read_to_string(LIST).unwrap_or_else(|e| panic!("reading {LIST}: {e}"));
    let mut builder = fst::SetBuilder::memory();
    for (n, line) in text.lines().enumerate() {
        // The fst needs strictly increasing keys; the file promises that (sorted bytewise,
        // deduplicated), and a line out of order is a broken asset, so say which.
        builder.insert(line).unwrap_or_else(|e| panic!("{LIST} line {}: {e} (keep it sorted bytewise, unique)", n + 1));
    }
    let bytes = builder.into_inner().expect("building the common-password fst");

    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    std::fs::write(out.join("common-passwords.fst"), bytes).expect("writing the common-password fst");
}
