//! What Amplify checks when a manual deploy runs: the upload must be a
//! readable zip whose entries sit under the site root, and a
//! `customHttp.yml` at its root must be valid custom headers YAML. The failure texts
//! become the job's `statusReason`.
//!
//! Entry names are taken from the central directory as sent, never
//! normalised, and decoded the way strict readers (Python's `zipfile`, the
//! APPNOTE) do: UTF-8 when general-purpose bit 11 says so, CP437 otherwise.
//! A writer that forgets the flag therefore deploys the mangled names a
//! real server would show, and an archive naming one path twice is refused
//! instead of one copy silently winning. The `zip` crate still reads the
//! data (and checks each CRC), but not the names: it prefers the Info-ZIP
//! Unicode Path field (0x7075) over the name and keeps one entry per name.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};

use crate::state::SiteFiles;

/// Reads every entry (which verifies its CRC) and returns the site's files.
pub(crate) fn site_files(zip: Option<&[u8]>) -> Result<SiteFiles, String> {
    let Some(zip) = zip else {
        return Err("zip file not found".to_owned());
    };
    let names = entry_names(zip).map_err(|e| format!("unable to read the zip file: {e}"))?;
    let mut seen = BTreeSet::new();
    for name in &names {
        check_entry_name(name)?;
        if !seen.insert(name.as_str()) {
            return Err(format!("invalid zip: more than one entry named {name:?}"));
        }
    }
    let mut archive = zip::ZipArchive::new(Cursor::new(zip))
        .map_err(|e| format!("unable to read the zip file: {e}"))?;
    if archive.len() != names.len() {
        return Err(format!(
            "unable to read the zip file: {} entries in its central directory, {} readable",
            names.len(),
            archive.len()
        ));
    }
    let mut files = SiteFiles::new();
    for (index, name) in names.into_iter().enumerate() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| format!("unable to read zip entry {index}: {e}"))?;
        if entry.is_dir() {
            continue;
        }
        let mut content =
            Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(1 << 26));
        entry
            .read_to_end(&mut content)
            .map_err(|e| format!("unable to read zip entry {name}: {e}"))?;
        files.insert(name, content);
    }
    if let Some(content) = files.get(crate::headers::FILE_NAME) {
        let text = std::str::from_utf8(content)
            .map_err(|_| format!("{} is not UTF-8 text", crate::headers::FILE_NAME))?;
        crate::headers::parse(text)
            .map_err(|e| format!("invalid {}: {e}", crate::headers::FILE_NAME))?;
    }
    Ok(files)
}

const END: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_END: u32 = 0x0606_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const UTF8_FLAG: u16 = 1 << 11;

/// The name of every central directory entry, in order, decoded as its
/// flag says.
fn entry_names(zip: &[u8]) -> Result<Vec<String>, String> {
    // The end record is 22 bytes plus a comment of up to 65535.
    let floor = zip.len().saturating_sub(22 + 0xffff);
    let end = (floor..zip.len().saturating_sub(21))
        .rev()
        .find(|&at| u32_at(zip, at) == Some(END))
        .ok_or("no end of central directory record")?;
    let field = |at: usize| u16_at(zip, end + at).map(u64::from);
    let mut count = field(10).ok_or("truncated end record")?;
    let mut offset = u32_at(zip, end + 16)
        .map(u64::from)
        .ok_or("truncated end record")?;
    if count == 0xffff || offset == 0xffff_ffff {
        let locator = end.checked_sub(20).ok_or("truncated zip64 locator")?;
        if u32_at(zip, locator) != Some(ZIP64_LOCATOR) {
            return Err("missing zip64 end of central directory locator".to_owned());
        }
        let record = u64_at(zip, locator + 8).ok_or("truncated zip64 locator")?;
        let record = usize::try_from(record).map_err(|_| "zip64 record out of range")?;
        if u32_at(zip, record) != Some(ZIP64_END) {
            return Err("missing zip64 end of central directory record".to_owned());
        }
        count = u64_at(zip, record + 32).ok_or("truncated zip64 record")?;
        offset = u64_at(zip, record + 48).ok_or("truncated zip64 record")?;
    }
    let mut at = usize::try_from(offset).map_err(|_| "central directory out of range")?;
    let mut names = Vec::new();
    for index in 0..count {
        if u32_at(zip, at) != Some(CENTRAL_HEADER) {
            return Err(format!("central directory entry {index} is missing"));
        }
        let header = |field: usize| {
            u16_at(zip, at + field)
                .ok_or_else(|| format!("central directory entry {index} is truncated"))
        };
        let flags = header(8)?;
        let (name_len, extra_len, comment_len) = (header(28)?, header(30)?, header(32)?);
        let start = at + 46;
        let raw = zip
            .get(start..start + usize::from(name_len))
            .ok_or_else(|| format!("central directory entry {index} is truncated"))?;
        let name = if flags & UTF8_FLAG != 0 {
            String::from_utf8(raw.to_vec()).map_err(|_| {
                format!("entry {index} is flagged UTF-8 but its name {raw:?} is not")
            })?
        } else {
            raw.iter().map(|&b| cp437(b)).collect()
        };
        names.push(name);
        at = start + usize::from(name_len) + usize::from(extra_len) + usize::from(comment_len);
    }
    Ok(names)
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// A byte of a name without the UTF-8 flag: code page 437, the zip
/// default (APPNOTE appendix D).
fn cp437(byte: u8) -> char {
    const HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»\
        ░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀\
        αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";
    match byte.checked_sub(0x80) {
        None => char::from(byte),
        Some(high) => HIGH.chars().nth(usize::from(high)).unwrap_or('\u{fffd}'),
    }
}

/// What the service refuses: paths that could leave the site root or that
/// Windows tools wrote with backslashes. Any other character, `:` included,
/// is part of the name.
fn check_entry_name(name: &str) -> Result<(), String> {
    if name.contains('\\') {
        return Err(format!(
            "invalid zip entry name {name:?}: backslash path separators are not supported"
        ));
    }
    let drive = name.as_bytes().first().is_some_and(u8::is_ascii_alphabetic)
        && name.as_bytes().get(1) == Some(&b':')
        && matches!(name.as_bytes().get(2), None | Some(b'/'));
    if name.starts_with('/') || drive {
        return Err(format!("invalid zip entry name {name:?}: absolute path"));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(format!(
            "invalid zip entry name {name:?}: '..' leaves the site root"
        ));
    }
    if name.is_empty() {
        return Err("invalid zip entry name: empty".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, content) in entries {
            writer
                .start_file(
                    *name,
                    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored),
                )
                .expect("start entry");
            writer.write_all(content).expect("write entry");
        }
        writer.finish().expect("finish zip").into_inner()
    }

    #[test]
    fn good_zip_yields_its_files() {
        let zip = zip_of(&[("index.html", b"<h1>hi</h1>"), ("a/b.css", b"body{}")]);
        let files = site_files(Some(&zip)).expect("valid zip");
        assert_eq!(files.len(), 2);
        assert_eq!(files["index.html"], b"<h1>hi</h1>");
        assert_eq!(files["a/b.css"], b"body{}");
    }

    /// Every occurrence of `from` (a name, in local and central headers)
    /// replaced by `to`, of the same length.
    fn rename(zip: &mut [u8], from: &str, to: &str) {
        assert_eq!(from.len(), to.len());
        let mut at = 0;
        while let Some(i) = zip[at..]
            .windows(from.len())
            .position(|w| w == from.as_bytes())
        {
            zip[at + i..at + i + to.len()].copy_from_slice(to.as_bytes());
            at += i + to.len();
        }
    }

    /// Clears the UTF-8 flag (bit 11) in every local and central header.
    fn clear_utf8_flags(zip: &mut [u8]) {
        for (signature, flags_at) in [(0x0403_4b50u32, 6), (0x0201_4b50, 8)] {
            let positions: Vec<usize> = zip
                .windows(4)
                .enumerate()
                .filter(|(_, w)| *w == signature.to_le_bytes())
                .map(|(i, _)| i + flags_at + 1)
                .collect();
            for at in positions {
                zip[at] &= !0x08;
            }
        }
    }

    #[test]
    fn names_are_kept_as_sent() {
        let names = [
            "Cat\u{e9}gorie:Histoire.html",
            "a:b.html",
            "sub/\u{e9}:index.html",
            "sub/index.html",
            "\u{e9}.html",
            "e\u{301}.html",
            "\u{627}\u{644}\u{639}\u{631}\u{628}\u{64a}\u{629}.html",
            "\u{1f600} x.txt",
        ];
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, n.as_bytes())).collect();
        let files = site_files(Some(&zip_of(&entries))).expect("valid zip");
        assert_eq!(files.len(), names.len());
        for name in names {
            assert_eq!(files[name], name.as_bytes(), "{name}");
        }
    }

    #[test]
    fn names_without_the_utf8_flag_are_read_as_cp437() {
        let mut zip = zip_of(&[("caf\u{e9}.html", b"x"), ("plain.html", b"y")]);
        clear_utf8_flags(&mut zip);
        let files = site_files(Some(&zip)).expect("valid zip");
        // UTF-8 "é" is C3 A9: "├⌐" in CP437, as Python's zipfile shows it.
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["caf\u{251c}\u{2310}.html", "plain.html"]
        );
    }

    #[test]
    fn a_name_used_twice_fails_the_deploy() {
        let mut zip = zip_of(&[("one/index.html", b"first"), ("two/index.html", b"second")]);
        rename(&mut zip, "two/index.html", "one/index.html");
        let err = site_files(Some(&zip)).expect_err("duplicate names");
        assert!(
            err.contains("more than one entry named \"one/index.html\""),
            "{err}"
        );
    }

    #[test]
    fn bad_names_fail_the_deploy() {
        for name in [
            "a\\b.html",
            "/etc/passwd",
            "../x.html",
            "a/../../x",
            "C:/x.html",
        ] {
            let zip = zip_of(&[(name, b"x")]);
            let err = site_files(Some(&zip)).expect_err(name);
            assert!(err.contains("invalid zip entry name"), "{name}: {err}");
        }
    }

    #[test]
    fn missing_or_garbage_upload_fails() {
        assert_eq!(site_files(None), Err("zip file not found".to_owned()));
        assert!(site_files(Some(b"not a zip")).is_err());
    }

    #[test]
    fn corrupted_content_fails_the_crc_check() {
        let content = b"hello hello hello hello";
        let mut zip = zip_of(&[("index.html", content)]);
        // Stored entries keep their bytes verbatim: flip one of them.
        let at = zip
            .windows(content.len())
            .position(|w| w == content)
            .expect("content is stored");
        zip[at] ^= 0xff;
        let err = site_files(Some(&zip)).expect_err("crc mismatch");
        assert!(err.contains("index.html"), "{err}");
    }
}
