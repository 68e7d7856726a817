//! A machine short of CPU: two live channels whose encoder cannot keep up (x264's
//! `veryslow` preset at 720x1280 on two cores) each stay on time by repeating the last
//! picture, count the repeats (the log, /v1/status, the done line), and keep a constant
//! frame grid: every frame of 20 s in the recording with no hole, keyframes exactly
//! 2.00 s apart, and the sound without a gap.

use std::time::Duration;

use common::*;

#[test]
fn an_overloaded_channel_repeats_pictures_on_a_constant_frame_grid_and_keeps_its_sound() {
    let dir = TempDir::new("overload");
    let config = demo_config_with(dir.path(), "c.toml", |s| s.replace("fps = 25", "fps = 25\npreset = \"veryslow\""));
    let seconds = 20.0;
    let files: Vec<_> = (0..2).map(|i| dir.path().join(format!("channel{i}.mkv"))).collect();
    let mut runs: Vec<LiveRun> = files
        .iter()
        .enumerate()
        .map(|(i, f)| LiveRun::start(&config, &["--duration", "20s", "--output", f.to_str().unwrap()], dir.path().join(format!("live{i}.log"))))
        .collect();
    wait_for(Duration::from_secs(30), "repeated frames in /v1/status", || {
        runs.iter().all(|r| get_json(r.port, "/v1/status")["repeated_frames"].as_u64().unwrap_or(0) > 0)
    });
    for (run, file) in runs.iter_mut().zip(&files) {
        assert!(run.wait().success(), "{}", run.log_text());
        let log = run.log_text();
        let done = log.lines().find(|l| l.starts_with("done:")).unwrap_or_else(|| panic!("no done line: {log}"));
        eprintln!("{}: {done}", file.display());
        assert!(log.contains("repeating the last picture to stay on time"), "{log}");
        // On time: the whole stream took about as long as it lasts (falling behind,
        // 20 s at a third of the frame rate would take a minute).
        let wall: f64 = done.split(" in ").nth(1).and_then(|t| t.split(' ').next()).and_then(|t| t.parse().ok()).unwrap();
        assert!(wall < seconds + 3.0, "the stream drifted behind real time: {done}");
        let repeated: u64 = done.split(", ").last().and_then(|t| t.split(' ').next()).and_then(|t| t.parse().ok()).unwrap();
        assert!(repeated > 0, "{done}");

        let video = packets(file, "v");
        let audio = packets(file, "a");
        assert_eq!(video.len(), 500, "frames in the recording ({repeated} repeated)");
        assert_no_gaps(&video, 0.041, "video");
        let keys: Vec<f64> = video.iter().filter(|p| p.key).map(|p| p.pts).collect();
        assert!(keys.len() >= 9 && keys.windows(2).all(|w| (w[1] - w[0] - 2.0).abs() < 0.002), "keyframes not exactly 2 s apart: {keys:?}");
        assert_no_gaps(&audio, 0.1, "audio");
        let audio_span = audio.last().unwrap().pts - audio.first().unwrap().pts;
        assert!((audio_span - seconds).abs() < 0.5, "the sound spans {audio_span:.2} s of {seconds}");
    }
}
