//! The AI label's own key in MP4 recordings: an `AIGC` entry in moov/udta/meta in the
//! QuickTime metadata form (handler `mdta`, a `keys` box naming it, an `ilst` item
//! holding the JSON as UTF-8), which ffprobe lists as the file's `AIGC` tag. mp4mux
//! writes only the tags GStreamer knows (the record as a comment, in an iTunes-style
//! meta), so the entry is added once the file is finalized. mp4mux writes the media
//! first and moov after it, so moov grows in place and no sample moves: the chunk
//! offsets point into mdat, before it. What follows moov (an XMP box) moves along.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// The key ffprobe and other readers show.
const KEY: &str = "AIGC";

/// Adds the `AIGC` entry holding `record` to the MP4 at `path`. Returns false when the
/// file has one already.
pub fn add_record(path: &Path, record: &str) -> Result<bool> {
    let mut file = std::fs::OpenOptions::new().read(true).write(true).open(path).with_context(|| format!("opening {}", path.display()))?;
    let (moov_at, len) = find_moov(&mut file, path, true)?;
    let mut tail = Vec::with_capacity((len - moov_at) as usize);
    file.seek(SeekFrom::Start(moov_at))?;
    file.read_to_end(&mut tail)?;
    let Some(new_tail) = with_record(&tail, record)? else { return Ok(false) };
    file.seek(SeekFrom::Start(moov_at))?;
    file.write_all(&new_tail)?;
    file.sync_data()?;
    Ok(true)
}

/// The `AIGC` entry of the MP4 at `path`, if it has one.
pub fn read_record(path: &Path) -> Result<Option<String>> {
    let mut file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let (moov_at, _) = find_moov(&mut file, path, false)?;
    let mut size = [0u8; 4];
    file.seek(SeekFrom::Start(moov_at))?;
    file.read_exact(&mut size)?;
    let mut moov = vec![0u8; u32::from_be_bytes(size) as usize];
    file.seek(SeekFrom::Start(moov_at))?;
    file.read_exact(&mut moov)?;
    for udta in children(&moov, 8).filter(|b| &b[4..8] == b"udta") {
        for meta in children(udta, 8).filter(|b| &b[4..8] == b"meta") {
            // QuickTime's meta has no version and flags, ISO's has: its first child says.
            let start = if meta.get(12..16) == Some(b"hdlr") { 8 } else { 12 };
            let keys: Vec<&[u8]> = children(meta, start)
                .filter(|b| &b[4..8] == b"keys")
                .flat_map(|k| children(k, 16).map(|e| &e[8..]))
                .collect();
            let Some(index) = keys.iter().position(|k| *k == KEY.as_bytes()) else { continue };
            for ilst in children(meta, start).filter(|b| &b[4..8] == b"ilst") {
                let item = children(ilst, 8).find(|i| i[4..8] == (index as u32 + 1).to_be_bytes());
                if let Some(data) = item.and_then(|i| children(i, 8).find(|d| &d[4..8] == b"data")) {
                    return Ok(Some(String::from_utf8_lossy(&data[16..]).into_owned()));
                }
            }
        }
    }
    Ok(None)
}

/// Where moov starts, and the file's length. `growing`: moov is to grow in place, so
/// no media may follow it.
fn find_moov(file: &mut std::fs::File, path: &Path, growing: bool) -> Result<(u64, u64)> {
    let len = file.metadata()?.len();
    // Top-level boxes: only headers are read (mdat may be gigabytes).
    let (mut offset, mut moov_at) = (0u64, None);
    while offset + 8 <= len {
        let mut header = [0u8; 16];
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(&mut header[..8])?;
        let kind = [header[4], header[5], header[6], header[7]];
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            0 => len - offset,
            1 => {
                file.read_exact(&mut header[8..])?;
                u64::from_be_bytes(header[8..16].try_into().expect("8 bytes"))
            }
            s => s as u64,
        };
        if size < 8 || offset + size > len {
            bail!("{}: box `{}` at {offset} runs past the end of the file (is it finalized?)", path.display(), String::from_utf8_lossy(&kind));
        }
        match &kind {
            b"moov" => moov_at = Some(offset),
            b"mdat" if growing && moov_at.is_some() => bail!("{}: media follows moov; growing moov would move it", path.display()),
            _ => {}
        }
        offset += size;
    }
    let Some(moov_at) = moov_at else { bail!("{}: no moov box (is the recording finalized?)", path.display()) };
    Ok((moov_at, len))
}

/// The boxes inside `parent` from byte `start` on (each with its header), up to the
/// first that does not fit.
fn children(parent: &[u8], start: usize) -> impl Iterator<Item = &[u8]> {
    let mut at = start;
    std::iter::from_fn(move || {
        let size = u32::from_be_bytes(parent.get(at..at + 4)?.try_into().ok()?) as usize;
        if size < 8 || at + size > parent.len() {
            return None;
        }
        let child = &parent[at..at + size];
        at += size;
        Some(child)
    })
}

/// `tail` (moov, then whatever follows it) with the entry added to moov/udta; None
/// when moov/udta has one already.
fn with_record(tail: &[u8], record: &str) -> Result<Option<Vec<u8>>> {
    let (moov_header, moov_size) = header(tail, 0).context("reading moov")?;
    if moov_header != 8 {
        bail!("moov with a 64-bit size is not supported");
    }
    let moov = &tail[..moov_size];
    let meta = mdta_meta(KEY, record);
    let mut body = Vec::with_capacity(moov.len() + meta.len() + 8);
    let mut found_udta = false;
    let mut at = 8;
    while at + 8 <= moov.len() {
        let (h, size) = header(moov, at)?;
        let child = &moov[at..at + size];
        if &child[4..8] == b"udta" {
            found_udta = true;
            if contains(child, &keys_entry(KEY)) {
                return Ok(None);
            }
            body.extend_from_slice(&boxed(b"udta", &[&child[h..], &meta].concat()));
        } else {
            body.extend_from_slice(child);
        }
        at += size;
    }
    if !found_udta {
        body.extend_from_slice(&boxed(b"udta", &meta));
    }
    let mut out = boxed(b"moov", &body);
    out.extend_from_slice(&tail[moov_size..]);
    Ok(Some(out))
}

/// (header length, box size) of the box at `at`.
fn header(data: &[u8], at: usize) -> Result<(usize, usize)> {
    let word = |i: usize| -> Result<[u8; 4]> { data.get(i..i + 4).and_then(|s| s.try_into().ok()).context("a box header is cut short") };
    let (h, size) = match u32::from_be_bytes(word(at)?) {
        1 => (16, u64::from_be_bytes([word(at + 8)?, word(at + 12)?].concat().try_into().expect("8 bytes")) as usize),
        0 => (8, data.len() - at),
        s => (8, s as usize),
    };
    if size < h || at + size > data.len() {
        bail!("a box inside moov runs past its parent");
    }
    Ok((h, size))
}

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(body.len() + 8);
    b.extend_from_slice(&(body.len() as u32 + 8).to_be_bytes());
    b.extend_from_slice(kind);
    b.extend_from_slice(body);
    b
}

fn keys_entry(key: &str) -> Vec<u8> {
    [&(key.len() as u32 + 8).to_be_bytes()[..], b"mdta", key.as_bytes()].concat()
}

/// A QuickTime metadata box with one key holding `value` as UTF-8 text. Like the
/// ones ffmpeg writes (`-movflags use_metadata_tags`): meta without version and
/// flags, hdlr `mdta`, keys, ilst whose item is named by the key's 1-based index.
fn mdta_meta(key: &str, value: &str) -> Vec<u8> {
    let hdlr = boxed(b"hdlr", &[&[0u8; 8][..], b"mdta", &[0u8; 12], &[0u8]].concat());
    let keys = boxed(b"keys", &[&[0u8; 4][..], &1u32.to_be_bytes(), &keys_entry(key)].concat());
    // Type 1: UTF-8 text; locale 0: any.
    let data = boxed(b"data", &[&1u32.to_be_bytes()[..], &0u32.to_be_bytes(), value.as_bytes()].concat());
    let ilst = boxed(b"ilst", &boxed(&1u32.to_be_bytes(), &data));
    boxed(b"meta", &[hdlr, keys, ilst].concat())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_goes_into_moov_udta_and_what_follows_moov_moves_along() {
        let mvhd = boxed(b"mvhd", &[7u8; 100]);
        let udta = boxed(b"udta", &boxed(b"meta", &[0u8; 20]));
        let moov = boxed(b"moov", &[mvhd.clone(), udta].concat());
        let xmp = boxed(b"uuid", &[9u8; 40]);
        let tail = [moov, xmp.clone()].concat();
        let out = with_record(&tail, "{\"AIGC\":{}}").unwrap().unwrap();
        let (_, moov_size) = header(&out, 0).unwrap();
        assert_eq!(&out[moov_size..], &xmp[..], "the box after moov is kept whole");
        assert_eq!(&out[8..8 + mvhd.len()], &mvhd[..]);
        let (_, udta_size) = header(&out, 8 + mvhd.len()).unwrap();
        assert_eq!(8 + mvhd.len() + udta_size, moov_size, "sizes add up");
        assert!(contains(&out, b"\x00\x00\x00\x0cmdtaAIGC") && contains(&out, b"{\"AIGC\":{}}"));
        let dir = std::env::temp_dir().join(format!("avatarcast-mp4-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.mp4");
        std::fs::write(&file, [boxed(b"ftyp", b"isom"), boxed(b"mdat", &[1u8; 64]), out.clone()].concat()).unwrap();
        assert_eq!(read_record(&file).unwrap().as_deref(), Some("{\"AIGC\":{}}"));
        std::fs::write(&file, [boxed(b"ftyp", b"isom"), boxed(b"mdat", &[1u8; 64]), tail.clone()].concat()).unwrap();
        assert_eq!(read_record(&file).unwrap(), None);
        assert!(add_record(&file, "{\"AIGC\":1}").unwrap());
        assert_eq!(read_record(&file).unwrap().as_deref(), Some("{\"AIGC\":1}"));
        assert!(!add_record(&file, "{\"AIGC\":1}").unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        // Once is enough.
        assert!(with_record(&out, "{}").unwrap().is_none());
        // No udta: one is made.
        let bare = boxed(b"moov", &mvhd);
        let out = with_record(&bare, "x").unwrap().unwrap();
        assert!(contains(&out, b"udta") && header(&out, 0).unwrap().1 == out.len());
    }
}
