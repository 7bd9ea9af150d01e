//! Memory and CPU of a process, from /proc: the server's cost is read from outside it, so the
//! same numbers come out for a Rust and a Node.js server.

use crate::error::BenchError;

/// Clock ticks per second in /proc/<pid>/stat. USER_HZ is part of Linux's userspace ABI and is
/// 100 on every architecture this runs on.
const TICKS_PER_S: f64 = 100.0;

fn read(pid: u32, file: &'static str) -> Result<String, BenchError> {
    let path = format!("/proc/{pid}/{file}");
    std::fs::read_to_string(path).map_err(|e| BenchError::Proc {
        pid,
        file,
        reason: e.to_string(),
    })
}

/// Resident set size in bytes (`VmRSS`).
pub fn rss_bytes(pid: u32) -> Result<u64, BenchError> {
    parse_rss(&read(pid, "status")?).ok_or_else(|| BenchError::Proc {
        pid,
        file: "status",
        reason: "no VmRSS line".into(),
    })
}

/// User plus system CPU time in seconds.
pub fn cpu_seconds(pid: u32) -> Result<f64, BenchError> {
    parse_cpu(&read(pid, "stat")?).ok_or_else(|| BenchError::Proc {
        pid,
        file: "stat",
        reason: "unexpected format".into(),
    })
}

/// The machine's 1-minute load average: other work on the same cores skews every figure.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The kernel's count of connections dropped because a listen queue was full
/// (`TcpExt: ListenDrops`, machine-wide): in a reconnect storm such a drop costs the client
/// TCP's 1 s SYN retransmission.
pub fn listen_drops() -> Option<u64> {
    parse_netstat(
        &std::fs::read_to_string("/proc/net/netstat").ok()?,
        "ListenDrops",
    )
}

fn parse_netstat(text: &str, field: &str) -> Option<u64> {
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let names = lines.next()?;
    let values = lines.next()?;
    let i = names.split_whitespace().position(|n| n == field)?;
    values.split_whitespace().nth(i)?.parse().ok()
}

fn parse_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn parse_cpu(stat: &str) -> Option<f64> {
    // The command name (field 2) is in parentheses and may hold spaces or ')', so count the
    // fields after the last ')': state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_S)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_stat() {
        assert_eq!(
            parse_rss("Name:\tx\nVmRSS:\t  2048 kB\n"),
            Some(2048 * 1024)
        );
        assert_eq!(parse_rss("Name:\tx\n"), None);
        let stat = "42 (a) b) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0";
        assert_eq!(parse_cpu(stat), Some(2.0));
        assert_eq!(parse_cpu("garbage"), None);
        let netstat = "TcpExt: SyncookiesSent ListenDrops\nTcpExt: 0 7\nIpExt: A\nIpExt: 1\n";
        assert_eq!(parse_netstat(netstat, "ListenDrops"), Some(7));
        assert_eq!(parse_netstat(netstat, "Nope"), None);
    }

    #[test]
    fn reads_own_process() {
        let pid = std::process::id();
        assert!(rss_bytes(pid).is_ok_and(|b| b > 0));
        assert!(cpu_seconds(pid).is_ok());
    }
}
