//! `cargo bench`: the same figures as `avatarcast bench`, on the demo config.

fn main() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("repo root");
    let config = avatarcast::config::Config::load(std::path::Path::new("config/demo.toml")).expect("config/demo.toml");
    match avatarcast::bench::run(&config, 60) {
        Ok(r) => println!("{}", serde_json::to_string_pretty(&r).expect("json")),
        Err(e) => {
            eprintln!("bench failed: {e:#}");
            std::process::exit(1);
        }
    }
}
