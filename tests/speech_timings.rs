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
    assert_eq!(u.phonemes().first().unwrap().start, 0);
    assert_eq!(u.phonemes().last().unwrap().end as usize, u.samples().len());
    for w in u.phonemes().windows(2) {
        assert_eq!(w[0].end, w[1].start, "gap between {:?} and {:?}", w[0], w[1]);
    }
    assert_eq!(u.phonemes().first().unwrap().phoneme, '^');
    assert_eq!(u.phonemes().last().unwrap().phoneme, '$');

    // Sound is where the phonemes say: the pauses (start, end, punctuation) are quiet
    // and the vowels loud. espeak writes stress marks just before the vowel, and the
    // voice sounds the vowel through them, so a vowel here is stress + vowel + length.
    let rms = |a: u32, b: u32| {
        let w = &u.samples()[a as usize..(b as usize).min(u.samples().len())];
        (w.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / w.len().max(1) as f64).sqrt()
    };
    let ph = &u.phonemes();
    let pauses: Vec<f64> = ph.iter().filter(|p| "^$,.".contains(p.phoneme) && p.end - p.start > 1920).map(|p| rms(p.start, p.end)).collect();
    assert!(pauses.len() >= 2, "{ph:?}");
    assert!(pauses.iter().all(|&r| r < 300.0), "sound in a pause: {pauses:?}");
    // Stressed vowels (the second half of a diphthong is a quiet off-glide).
    let mut vowels = Vec::new();
    for (i, p) in ph.iter().enumerate().skip(1).filter(|(i, p)| "aeiouæɑɔəɛɪʊʌɚ".contains(p.phoneme) && "ˈˌ".contains(ph[i - 1].phoneme)) {
        let end = if ph.get(i + 1).is_some_and(|n| n.phoneme == 'ː') { ph[i + 1].end } else { p.end };
        vowels.push(rms(ph[i - 1].start, end));
    }
    assert!(vowels.len() >= 6, "{ph:?}");
    let loud = vowels.iter().filter(|&&r| r > 500.0).count();
    assert!(loud * 10 >= vowels.len() * 9, "only {loud} of {} stressed vowels are loud: {vowels:?}", vowels.len());
    // The mouth track spans the utterance too.
    assert!(u.mouth.end() as usize <= u.samples().len());
    assert!(u.duration_seconds() > 1.5);
    assert_eq!(OUTPUT_RATE, 48_000);
}
