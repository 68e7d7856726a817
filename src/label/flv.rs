//! The AI label in FLV's `onMetaData` (RTMP's stream metadata): flvmux writes only
//! its fixed keys, so its script tag is rewritten with an `AIGC` entry holding the
//! record (and a `credits` entry when the host's model asks for credit), before the
//! end marker of the ECMA array.

const SCRIPT_DATA: u8 = 18;
const TAG_HEADER: usize = 11;
const ON_METADATA: &[u8] = b"\x02\x00\x0aonMetaData\x08";
const END_MARKER: [u8; 3] = [0, 0, 9];
/// The key, as China's labelling practice names the record.
pub const KEY: &str = "AIGC";

/// `tag` (one FLV tag: header, body, previous-tag-size) with the `AIGC` entry added,
/// when it is an `onMetaData` script tag that has none yet; None otherwise.
pub fn with_record(tag: &[u8], record: &str) -> Option<Vec<u8>> {
    with_entry(tag, KEY, record)
}

/// `tag` with string entry `key` = `value` added, when it is an `onMetaData` script
/// tag that has no `key` yet; None otherwise.
pub fn with_entry(tag: &[u8], key: &str, value: &str) -> Option<Vec<u8>> {
    let key = key.as_bytes();
    if tag.len() < TAG_HEADER + ON_METADATA.len() + 4 + END_MARKER.len() + 4 || tag[0] != SCRIPT_DATA {
        return None;
    }
    let body_len = u32::from_be_bytes([0, tag[1], tag[2], tag[3]]) as usize;
    let body = tag.get(TAG_HEADER..TAG_HEADER + body_len)?;
    if tag.len() != TAG_HEADER + body_len + 4 || !body.starts_with(ON_METADATA) || !body.ends_with(&END_MARKER) {
        return None;
    }
    let value = value.as_bytes();
    let value_len = u16::try_from(value.len()).ok()?;
    let entries = ON_METADATA.len();
    if body.windows(key.len() + 2).any(|w| w[..2] == (key.len() as u16).to_be_bytes() && &w[2..] == key) {
        return None;
    }
    // Name (u16 length, bytes), then an AMF0 string (marker 2, u16 length, bytes).
    let mut entry = Vec::with_capacity(2 + key.len() + 3 + value.len());
    entry.extend_from_slice(&(key.len() as u16).to_be_bytes());
    entry.extend_from_slice(key);
    entry.push(2);
    entry.extend_from_slice(&value_len.to_be_bytes());
    entry.extend_from_slice(value);

    let new_body_len = body_len + entry.len();
    if new_body_len >= 1 << 24 {
        return None;
    }
    let mut out = Vec::with_capacity(tag.len() + entry.len());
    out.push(SCRIPT_DATA);
    out.extend_from_slice(&(new_body_len as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&tag[4..TAG_HEADER]);
    out.extend_from_slice(&body[..entries]);
    // The ECMA array's count is a hint to readers; kept right all the same.
    let count = u32::from_be_bytes(body[entries..entries + 4].try_into().ok()?);
    out.extend_from_slice(&count.saturating_add(1).to_be_bytes());
    out.extend_from_slice(&body[entries + 4..body_len - END_MARKER.len()]);
    out.extend_from_slice(&entry);
    out.extend_from_slice(&END_MARKER);
    out.extend_from_slice(&((TAG_HEADER + new_body_len) as u32).to_be_bytes());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An onMetaData tag as flvmux writes it, with `entries` (name, number).
    fn metadata(entries: &[(&str, f64)]) -> Vec<u8> {
        let mut body = ON_METADATA.to_vec();
        body.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        for (name, v) in entries {
            body.extend_from_slice(&(name.len() as u16).to_be_bytes());
            body.extend_from_slice(name.as_bytes());
            body.push(0);
            body.extend_from_slice(&v.to_be_bytes());
        }
        body.extend_from_slice(&END_MARKER);
        let mut tag = vec![SCRIPT_DATA];
        tag.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        tag.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
        tag.extend_from_slice(&body);
        tag.extend_from_slice(&((TAG_HEADER + body.len()) as u32).to_be_bytes());
        tag
    }

    #[test]
    fn the_record_is_added_as_a_string_entry_with_sizes_and_count_right() {
        let tag = metadata(&[("width", 720.0), ("height", 1280.0)]);
        let record = r#"{"AIGC":{"Label":"1"}}"#;
        let out = with_record(&tag, record).expect("an onMetaData tag");
        let body_len = u32::from_be_bytes([0, out[1], out[2], out[3]]) as usize;
        assert_eq!(out.len(), TAG_HEADER + body_len + 4, "DataSize");
        assert_eq!(u32::from_be_bytes(out[out.len() - 4..].try_into().unwrap()) as usize, TAG_HEADER + body_len, "PreviousTagSize");
        let body = &out[TAG_HEADER..TAG_HEADER + body_len];
        assert_eq!(u32::from_be_bytes(body[ON_METADATA.len()..ON_METADATA.len() + 4].try_into().unwrap()), 3, "count");
        assert!(body.ends_with(&END_MARKER));
        let mut entry = b"\x00\x04AIGC\x02".to_vec();
        entry.extend_from_slice(&(record.len() as u16).to_be_bytes());
        entry.extend_from_slice(record.as_bytes());
        assert!(body.windows(entry.len()).any(|w| w == entry.as_slice()), "the entry is there");
        // The entries before it are untouched.
        let (old_body, n) = (&tag[TAG_HEADER..tag.len() - 4], ON_METADATA.len());
        assert_eq!(&body[n + 4..old_body.len() - 3], &old_body[n + 4..old_body.len() - 3]);
        assert!(with_record(&out, record).is_none(), "added once");
    }

    #[test]
    fn other_tags_are_left_alone() {
        let mut video = metadata(&[]);
        video[0] = 9;
        assert!(with_record(&video, "{}").is_none());
        assert!(with_record(b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00", "{}").is_none());
        let mut truncated = metadata(&[("width", 720.0)]);
        truncated.pop();
        assert!(with_record(&truncated, "{}").is_none());
    }
}
