//! What Amplify checks when a manual deploy runs: the upload must be a
//! readable zip whose entries sit under the site root. The failure texts
//! become the job's `statusReason`.

use std::io::{Cursor, Read};

use crate::state::SiteFiles;

/// Reads every entry (which verifies its CRC) and returns the site's files.
pub(crate) fn site_files(zip: Option<&[u8]>) -> Result<SiteFiles, String> {
    let Some(zip) = zip else {
        return Err("zip file not found".to_owned());
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(zip))
        .map_err(|e| format!("unable to read the zip file: {e}"))?;
    let mut files = SiteFiles::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| format!("unable to read zip entry {index}: {e}"))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        check_entry_name(&name)?;
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
    Ok(files)
}

fn check_entry_name(name: &str) -> Result<(), String> {
    if name.contains('\\') {
        return Err(format!(
            "invalid zip entry name {name:?}: backslash path separators are not supported"
        ));
    }
    if name.starts_with('/') || name.as_bytes().get(1) == Some(&b':') {
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

    #[test]
    fn bad_names_fail_the_deploy() {
        for name in ["a\\b.html", "/etc/passwd", "../x.html", "a/../../x"] {
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
