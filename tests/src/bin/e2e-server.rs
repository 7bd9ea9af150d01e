//! `roomcast-server`, built inside the end-to-end package so its tests can run it.

fn main() -> std::process::ExitCode {
    roomcast_server::cli::main()
}
