//! `--config FILE`: server options from a TOML file whose keys are the flags' names
//! (`listen = "0.0.0.0:4000"`, `history-max = 10000`, `history-rule = ["support:*=ttl:90d"]`).
//!
//! Precedence, highest first: the command line, the environment (`ROOMCAST_JWT_SECRET`,
//! `ROOMCAST_ADMIN_KEY`: keep secrets there rather than in the file), the file, the defaults.
//! It works on the arguments themselves: every key of the file whose option was not given on
//! the command line or in the environment becomes `--key=value` (an array: the flag once per
//! item), and the whole is parsed again, so a file value is checked exactly like the flag. A
//! key that is no option of the server is an error, and so is a value that is a table.

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{ArgMatches, Command};

/// Keys of the file that are not options.
const NOT_IN_FILE: &[&str] = &["config", "help", "version"];

/// The arguments with the file's values added where the command line and the environment
/// gave none. `matches` are the arguments parsed once without the file.
pub fn merge(
    cmd: &Command,
    matches: &ArgMatches,
    argv: Vec<OsString>,
    file: &Path,
) -> Result<Vec<OsString>, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read the config file {}: {e}", file.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("the config file {} is not valid TOML: {e}", file.display()))?;
    let mut extra = Vec::new();
    for (key, value) in &table {
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()))
            .filter(|_| !NOT_IN_FILE.contains(&key.as_str()))
            .ok_or_else(|| {
                format!(
                    "{}: unknown key {key:?} (keys are the options' names, as in \
                     `max-frame = 65536`)",
                    file.display()
                )
            })?;
        let id = arg.get_id().as_str();
        if matches!(
            matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let values = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
            other => scalar(other).map(|v| vec![v]),
        }
        .ok_or_else(|| {
            format!(
                "{}: {key} must be a string, a number, a boolean or an array of them",
                file.display()
            )
        })?;
        for v in values {
            extra.push(OsString::from(format!("--{key}={v}")));
        }
    }
    let mut argv = argv;
    argv.extend(extra);
    Ok(argv)
}

fn scalar(v: &toml::Value) -> Option<String> {
    match v {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use crate::cli::{parse_with_config, LogFormat};
    use crate::config::Config;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(text.as_bytes()).expect("write");
        f
    }

    fn parse(args: &[&str]) -> Result<Config, String> {
        let argv = std::iter::once("roomcast-server")
            .chain(args.iter().copied())
            .map(Into::into)
            .collect();
        parse_with_config(argv).map(|cli| cli.serve.into())
    }

    #[test]
    fn file_values_apply_and_flags_win() {
        let f = file(
            r#"
listen = "127.0.0.1:4555"
max-frame = 1024
history-max = 500
history-ttl = "30d"
history-rule = ["support:*=ttl:90d", "audit:*=keep"]
log-format = "json"
"#,
        );
        let path = f.path().to_str().expect("path");
        let c = parse(&["--config", path]).expect("parses");
        assert_eq!(c.listen.port(), 4555);
        assert_eq!(c.max_frame, 1024);
        assert_eq!(c.retention.default.max, Some(500));
        assert_eq!(
            c.retention.default.ttl,
            Some(std::time::Duration::from_secs(30 * 86_400))
        );
        assert_eq!(c.retention.rules.len(), 2);
        // A flag beats the file, also for a list.
        let c = parse(&[
            "--config",
            path,
            "--max-frame",
            "2048",
            "--history-rule",
            "x*=max:1",
        ])
        .expect("parses");
        assert_eq!(c.max_frame, 2048);
        assert_eq!(c.retention.rules.len(), 1);
        assert_eq!(c.listen.port(), 4555);
        let argv = ["roomcast-server", "--config", path]
            .iter()
            .map(Into::into)
            .collect();
        let cli = parse_with_config(argv).expect("parses");
        assert_eq!(cli.serve.log_format, LogFormat::Json);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let f = file("max-frames = 10\n");
        let e = parse(&["--config", f.path().to_str().expect("path")]).unwrap_err();
        assert!(e.contains("unknown key \"max-frames\""), "{e}");
        let f = file("config = \"other.toml\"\n");
        assert!(parse(&["--config", f.path().to_str().expect("path")]).is_err());
        let f = file("max-frame = \"big\"\n");
        let e = parse(&["--config", f.path().to_str().expect("path")]).unwrap_err();
        assert!(e.contains("max-frame"), "{e}");
        let f = file("[retention]\nmax = 1\n");
        assert!(parse(&["--config", f.path().to_str().expect("path")]).is_err());
        let f = file("listen = \n");
        let e = parse(&["--config", f.path().to_str().expect("path")]).unwrap_err();
        assert!(e.contains("not valid TOML"), "{e}");
        assert!(parse(&["--config", "/nonexistent/roomcast.toml"]).is_err());
    }
}
