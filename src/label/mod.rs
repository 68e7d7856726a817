//! The implicit, machine-readable AI label (docs/design.md § WHIP, SRT and the machine-readable label). Besides the visible
//! "AI-generated" label drawn on every frame, every keyframe's access unit of the one
//! H.264 encode carries an SEI user_data_unregistered message with our UUID and the
//! `AIGC` record (China's labelling measures and GB 45438-2025; EU AI Act Art. 50(2)
//! asks for machine-readable marking in any format). Since it is in the video stream
//! itself, every output (RTMP, HLS, WebRTC, files) carries it. It is always on: the
//! config names the producer and the content id, and cannot turn it off.

pub mod flv;
pub mod mp4;
pub mod sei;
pub mod verify;

pub use crate::config::LabelConfig;

/// The UUID of avatarcast's SEI messages (fixed; readers look for it).
pub const AIGC_SEI_UUID: [u8; 16] = [
    0x5c, 0x2e, 0x8a, 0x4f, 0x1b, 0x7d, 0x4c, 0x39, 0x9e, 0x61, 0xa7, 0x03, 0xd2, 0x58, 0xf4, 0x6b,
];

/// The UUID as text, as readers (ffmpeg's trace_headers, `avatarcast verify`) print it.
pub fn uuid_text() -> String {
    let h: String = AIGC_SEI_UUID.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// The label of one stream.
#[derive(Debug, Clone)]
pub struct Label {
    /// The `AIGC` record, JSON.
    pub record: String,
    /// The SEI NAL unit carrying it, Annex B (start code included).
    pub sei: Vec<u8>,
    /// Credits the host model's licence asks for, carried beside the record in the
    /// containers' metadata (FLV `credits`, Matroska/MP4 copyright).
    pub credits: Option<String>,
}

impl Label {
    /// The label of a stream starting now, its channel named by the show file
    /// (`show_file`'s stem) unless `config.channel` names one.
    pub fn for_stream(config: &LabelConfig, show_file: &std::path::Path) -> Label {
        let channel = show_file.file_stem().map_or("channel".into(), |s| s.to_string_lossy().into_owned());
        let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Label::new(config, &channel, start)
    }

    /// The label of a stream of `channel` (when the config names none) starting at
    /// `start` (seconds since the Unix epoch).
    pub fn new(config: &LabelConfig, channel: &str, start: u64) -> Label {
        let channel = if config.channel.is_empty() { channel } else { &config.channel };
        let id = config.content_id.replace("{producer}", &config.producer).replace("{channel}", channel).replace("{start}", &utc_compact(start));
        // Keys as the practice guides name them; Label "1": the content is AI-generated.
        let record = serde_json::json!({
            "AIGC": {
                "Label": "1",
                "ContentProducer": config.producer,
                "ProduceID": id,
                "ReservedCode1": "avatarcast",
                "ContentPropagator": "",
                "PropagateID": "",
                "ReservedCode2": "",
            }
        })
        .to_string();
        let sei = sei::user_data_unregistered(&AIGC_SEI_UUID, record.as_bytes());
        Label { record, sei, credits: None }
    }
}

/// 20261130T221500Z.
fn utc_compact(unix: u64) -> String {
    let (days, secs) = ((unix / 86_400) as i64, unix % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_names_the_producer_and_a_content_id_per_stream() {
        assert_eq!(utc_compact(0), "19700101T000000Z");
        assert_eq!(utc_compact(1_796_076_900), "20261130T221500Z");
        let label = Label::new(&LabelConfig::default(), "demo", 1_796_076_900);
        let v: serde_json::Value = serde_json::from_str(&label.record).unwrap();
        assert_eq!(v["AIGC"]["Label"], "1");
        assert_eq!(v["AIGC"]["ContentProducer"], "avatarcast");
        assert_eq!(v["AIGC"]["ProduceID"], "avatarcast:demo:20261130T221500Z");
        let found = sei::find_user_data(&label.sei);
        assert_eq!(found, vec![(AIGC_SEI_UUID, label.record.as_bytes().to_vec())]);
        assert_eq!(uuid_text(), "5c2e8a4f-1b7d-4c39-9e61-a703d258f46b");
    }

    #[test]
    fn a_content_id_without_start_or_with_an_unknown_placeholder_is_refused() {
        let c = |id: &str| LabelConfig { content_id: id.into(), ..LabelConfig::default() }.validate();
        assert!(c("{channel}-{start}").is_ok());
        assert!(format!("{:#}", c("{channel}").unwrap_err()).contains("{start}"));
        assert!(format!("{:#}", c("{chanel}-{start}").unwrap_err()).contains("`{chanel}"));
        let empty = LabelConfig { producer: " ".into(), ..LabelConfig::default() };
        assert!(format!("{:#}", empty.validate().unwrap_err()).contains("label.producer"));
    }
}
