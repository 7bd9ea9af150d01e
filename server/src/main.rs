//! The `roomcast-server` binary: see `roomcast_server::cli`.

fn main() -> std::process::ExitCode {
    roomcast_server::cli::main()
}
