//! H.264 SEI user_data_unregistered messages in Annex B access units: made, put
//! into an access unit before its first slice, and found again (ITU-T H.264 7.3.2.3,
//! D.1.6). GStreamer 1.22 has no element that inserts them.

const NAL_SEI: u8 = 6;
const USER_DATA_UNREGISTERED: usize = 5;

/// One SEI NAL unit (start code included) carrying `payload` under `uuid`.
pub fn user_data_unregistered(uuid: &[u8; 16], payload: &[u8]) -> Vec<u8> {
    let mut rbsp = Vec::with_capacity(payload.len() + 24);
    push_ff_coded(&mut rbsp, USER_DATA_UNREGISTERED);
    push_ff_coded(&mut rbsp, 16 + payload.len());
    rbsp.extend_from_slice(uuid);
    rbsp.extend_from_slice(payload);
    rbsp.push(0x80); // rbsp_trailing_bits
    let mut nal = vec![0, 0, 0, 1, NAL_SEI];
    // Emulation prevention: no 00 00 0x (x <= 3) inside a NAL unit.
    let mut zeros = 0;
    for &b in &rbsp {
        if zeros >= 2 && b <= 3 {
            nal.push(3);
            zeros = 0;
        }
        nal.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    nal
}

/// payloadType and payloadSize: 0xFF per full 255, then the rest.
fn push_ff_coded(out: &mut Vec<u8>, mut v: usize) {
    while v >= 255 {
        out.push(0xff);
        v -= 255;
    }
    out.push(v as u8);
}

/// The NAL units of an Annex B stream: (offset of the start code, offset of the
/// header byte, end).
fn nal_units(au: &[u8]) -> Vec<(usize, usize, usize)> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= au.len() {
        if au[i] == 0 && au[i + 1] == 0 && au[i + 2] == 1 {
            let code = if i > 0 && au[i - 1] == 0 { i - 1 } else { i };
            starts.push((code, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::with_capacity(starts.len());
    for (k, &(code, header)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(au.len(), |&(next, _)| next);
        if header < end {
            units.push((code, header, end));
        }
    }
    units
}

/// `au` with `sei` (a NAL unit with its start code) before its first slice (after
/// the delimiter and parameter sets, where the standard puts SEI); None when `au`
/// has no slice.
pub fn insert_before_first_slice(au: &[u8], sei: &[u8]) -> Option<Vec<u8>> {
    let (at, _, _) = *nal_units(au).iter().find(|&&(_, h, _)| matches!(au[h] & 0x1f, 1..=5))?;
    let mut out = Vec::with_capacity(au.len() + sei.len());
    out.extend_from_slice(&au[..at]);
    out.extend_from_slice(sei);
    out.extend_from_slice(&au[at..]);
    Some(out)
}

/// Every user_data_unregistered message in the SEI NAL units of `au`: (UUID, payload).
pub fn find_user_data(au: &[u8]) -> Vec<([u8; 16], Vec<u8>)> {
    let mut found = Vec::new();
    for (_, h, end) in nal_units(au) {
        if au[h] & 0x1f != NAL_SEI {
            continue;
        }
        let rbsp = unescape(&au[h + 1..end]);
        let mut r = &rbsp[..];
        // sei_message()s until the trailing bits.
        while r.len() > 1 || r.first().is_some_and(|&b| b != 0x80) {
            let (Some(kind), Some(size)) = (read_ff_coded(&mut r), read_ff_coded(&mut r)) else { break };
            if size > r.len() {
                break;
            }
            let (body, rest) = r.split_at(size);
            if kind == USER_DATA_UNREGISTERED && size >= 16 {
                let uuid: [u8; 16] = body[..16].try_into().expect("16 bytes");
                found.push((uuid, body[16..].to_vec()));
            }
            r = rest;
        }
    }
    found
}

fn read_ff_coded(r: &mut &[u8]) -> Option<usize> {
    let mut v = 0;
    loop {
        let (&b, rest) = r.split_first()?;
        *r = rest;
        v += b as usize;
        if b != 0xff {
            return Some(v);
        }
    }
}

/// Removes emulation prevention bytes (00 00 03 -> 00 00).
fn unescape(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: [u8; 16] = [0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0];

    #[test]
    fn a_message_survives_emulation_prevention_and_long_sizes() {
        // Zeros followed by small bytes need escaping; 300 bytes need a two-byte size.
        let mut payload = vec![0u8, 0, 1, 0, 0, 3, 0, 0, 0, 2];
        payload.extend((0..290).map(|i| (i % 7) as u8));
        let nal = user_data_unregistered(&UUID, &payload);
        assert_eq!(&nal[..5], &[0, 0, 0, 1, 6]);
        assert!(!nal[5..].windows(3).any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 2), "unescaped start code in the NAL");
        assert_eq!(find_user_data(&nal), vec![(UUID, payload)]);
    }

    #[test]
    fn the_message_goes_before_the_first_slice() {
        // AUD, SPS, PPS, IDR slice, as x264 and h264parse hand out a keyframe.
        let au = [&[0, 0, 0, 1, 9, 0xf0][..], &[0, 0, 0, 1, 0x67, 0x4d, 0, 0x1f], &[0, 0, 0, 1, 0x68, 0xee], &[0, 0, 1, 0x65, 0x88, 0x84]].concat();
        let sei = user_data_unregistered(&UUID, b"{\"AIGC\":{}}");
        let out = insert_before_first_slice(&au, &sei).unwrap();
        let kinds: Vec<u8> = nal_units(&out).iter().map(|&(_, h, _)| out[h] & 0x1f).collect();
        assert_eq!(kinds, vec![9, 7, 8, 6, 5]);
        assert_eq!(find_user_data(&out), vec![(UUID, b"{\"AIGC\":{}}".to_vec())]);
        assert!(insert_before_first_slice(&au[..20], &sei).is_none(), "no slice, no place");
    }
}
