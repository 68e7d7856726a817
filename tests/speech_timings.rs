//! The voice's own phoneme durations time the speech exactly: they tile the audio
//! end to end, and sound starts and stops where the phonemes say.

use avatarcast::config::VoiceConfig;
use avatarcast::speech::{OUTPUT_RATE, Speaker};

#[test]
fn phoneme_timings_cover_the_audio_and_match_the_sound() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let mut speaker = Speaker::load(&VoiceConfig::default()).expect("voice loads (run scripts/setup.sh)");
    let u = speaker.speak("Only twenty four dollars today, so grab yours now.", "bottle").unwrap().unwrap();

    // Contiguous from the first sample to the last.
    assert_eq!(u.phonemes.first().unwrap().start, 0);
    assert_eq!(u.phonemes.last().unwrap().end as usize, u.samples.len());
    for w in u.phonemes.windows(2) {
        assert_eq!(w[0].end, w[1].start, "gap between {:?} and {:?}", w[0], w[1]);
    }
    assert_eq!(u.phonemes.first().unwrap().phoneme, '^');
    assert_eq!(u.phonemes.last().unwrap().phoneme, '$');

    // Sound is where the phonemes are: quiet before the first spoken phoneme starts,
    // loud in the vowels.
    let rms = |a: usize, b: usize| {
        let w = &u.samples[a..b.min(u.samples.len())];
        (w.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / w.len().max(1) as f64).sqrt()
    };
    let first = &u.phonemes[1];
    let lead = first.start as usize;
    if lead > 960 {
        assert!(rms(0, lead - 480) < 300.0, "sound before the first phoneme");
    }
    let vowels: Vec<_> = u.phonemes.iter().filter(|p| "aeiouæɑɔəɛɪʊʌ".contains(p.phoneme) && p.end - p.start > 1920).collect();
    assert!(vowels.len() >= 5);
    let loud = vowels.iter().filter(|p| rms(p.start as usize, p.end as usize) > 1000.0).count();
    assert!(loud * 10 >= vowels.len() * 9, "only {loud} of {} vowels are loud", vowels.len());
    // The mouth track spans the utterance too.
    assert!(u.mouth.end() as usize <= u.samples.len());
    assert!(u.duration_seconds() > 1.5 && u.samples.len() % 1 == 0 && OUTPUT_RATE == 48_000);
}
