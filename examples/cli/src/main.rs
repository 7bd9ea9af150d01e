//! `roomcast`: chat, publish and listen from a terminal. See `roomcast --help`.

fn main() -> std::process::ExitCode {
    roomcast_cli::main()
}
