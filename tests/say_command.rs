//! `avatarcast say`: one line into a 48 kHz WAV with its phoneme and word timings,
//! commerce text normalized for the voice; the second time the same line comes from
//! the speech cache, identical.

use common::*;

#[test]
fn say_writes_speech_with_exact_timings_and_caches_it() {
    let dir = TempDir::new("say");
    let cache = dir.path().join("cache");
    let config = demo_config_with(dir.path(), "c.toml", |c| c.replace("threads = 1", &format!("threads = 1\ncache_dir = \"{}\"", cache.display())));
    let (wav, timings) = (dir.path().join("line.wav"), dir.path().join("line.json"));
    let say = || {
        run(avatarcast().args(["say", "--text", "Only $19.99 today, 20% off!", "--config"]).arg(&config).arg("--output").arg(&wav).arg("--timings").arg(&timings))
    };
    let out = say();
    assert!(out.status.success(), "{}", text(&out));
    let t: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&timings).unwrap()).unwrap();
    assert_eq!(t["spoken"], "Only nineteen dollars ninety-nine today, twenty percent off!");
    assert_eq!(t["text"], "Only $19.99 today, 20% off!");
    assert_eq!(t["cached"], false);

    // The WAV: 48 kHz mono 16-bit, as long as the timings say.
    let bytes = std::fs::read(&wav).unwrap();
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!((u16::from_le_bytes([bytes[22], bytes[23]]), u32::from_le_bytes(bytes[24..28].try_into().unwrap())), (1, 48000));
    let duration = t["duration"].as_f64().unwrap();
    assert!(((bytes.len() - 44) as f64 / 96000.0 - duration).abs() < 1e-6);
    assert!(duration > 2.0, "{duration}");
    let level = decode_audio(&wav).iter().map(|s| i64::from(*s).abs()).max().unwrap();
    assert!(level > 3000, "the WAV is silent");

    // Phonemes tile the audio exactly; words lie inside it, in order.
    let ph = t["phonemes"].as_array().unwrap();
    assert_eq!(ph[0]["start"], 0.0);
    for pair in ph.windows(2) {
        assert_eq!(pair[0]["end"], pair[1]["start"], "{pair:?}");
    }
    assert!((ph.last().unwrap()["end"].as_f64().unwrap() - duration).abs() < 1e-9);
    let words = t["words"].as_array().unwrap();
    assert!(words.len() >= 7, "{words:?}");
    for pair in words.windows(2) {
        assert!(pair[0]["end"].as_f64() <= pair[1]["start"].as_f64(), "{pair:?}");
    }

    // Again: from the cache, the same samples.
    let out = say();
    assert!(out.status.success(), "{}", text(&out));
    let again: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&timings).unwrap()).unwrap();
    assert_eq!(again["cached"], true);
    assert!(text(&out).contains("from the speech cache"), "{}", text(&out));
    assert_eq!(std::fs::read(&wav).unwrap(), bytes);

    // An unknown voice names the folder and the voices in it.
    let out = run(avatarcast().args(["say", "--text", "hi", "--voice", "nobody", "--config"]).arg(&config).arg("--output").arg(&wav));
    assert!(!out.status.success() && text(&out).contains("no voice `nobody`") && text(&out).contains("en_US-joe-medium"), "{}", text(&out));
}
