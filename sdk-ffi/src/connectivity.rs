//! The connection's lifecycle policy (`roomcast_core::connectivity`) for Swift and React
//! Native: a value (the state) and one function that steps it, so each platform keeps its
//! own value semantics and timers and applies the commands to its client.

use roomcast_core::connectivity as core;

/// The policy's state. Times are in the caller's unit (Swift: seconds, React Native:
/// milliseconds), the grace period in the same.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ConnectionPolicyState {
    pub grace: f64,
    pub is_foreground: bool,
    pub is_path_satisfied: bool,
    /// The interfaces of the last satisfied path, sorted.
    pub interfaces: Vec<String>,
    /// When the background grace period ends; `None` unless in it.
    pub pause_at: Option<f64>,
    /// Whether the policy paused the client (it only resumes what it paused).
    pub is_paused: bool,
}

/// What happened to the app.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum PolicyInput {
    EnteredBackground {
        now: f64,
    },
    GracePeriodEnded {
        now: f64,
    },
    EnteredForeground,
    PathChanged {
        satisfied: bool,
        interfaces: Vec<String>,
    },
}

/// What to do to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PolicyCommand {
    Pause,
    Resume,
    ReconnectNow,
}

/// The state after an input, and the commands to apply.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PolicyStep {
    pub state: ConnectionPolicyState,
    pub commands: Vec<PolicyCommand>,
}

impl From<core::ConnectionPolicy> for ConnectionPolicyState {
    fn from(p: core::ConnectionPolicy) -> Self {
        Self {
            grace: p.grace,
            is_foreground: p.foreground,
            is_path_satisfied: p.path_satisfied,
            interfaces: p.interfaces,
            pause_at: p.pause_at,
            is_paused: p.paused,
        }
    }
}

impl From<ConnectionPolicyState> for core::ConnectionPolicy {
    fn from(s: ConnectionPolicyState) -> Self {
        Self {
            grace: s.grace,
            foreground: s.is_foreground,
            path_satisfied: s.is_path_satisfied,
            interfaces: s.interfaces,
            pause_at: s.pause_at,
            paused: s.is_paused,
        }
    }
}

/// A policy in the foreground with a path, keeping the connection `grace` long in the
/// background.
#[uniffi::export]
pub fn connection_policy_new(grace: f64) -> ConnectionPolicyState {
    core::ConnectionPolicy::new(grace).into()
}

/// Steps `state` by `input` (see `roomcast_core::connectivity` for the rules).
#[uniffi::export]
pub fn connection_policy_step(state: ConnectionPolicyState, input: PolicyInput) -> PolicyStep {
    let mut policy = core::ConnectionPolicy::from(state);
    let commands = match input {
        PolicyInput::EnteredBackground { now } => policy.entered_background(now),
        PolicyInput::GracePeriodEnded { now } => policy.grace_period_ended(now),
        PolicyInput::EnteredForeground => policy.entered_foreground(),
        PolicyInput::PathChanged {
            satisfied,
            interfaces,
        } => policy.path_changed(satisfied, interfaces),
    };
    PolicyStep {
        state: policy.into(),
        commands: commands
            .into_iter()
            .map(|c| match c {
                core::PolicyCommand::Pause => PolicyCommand::Pause,
                core::PolicyCommand::Resume => PolicyCommand::Resume,
                core::PolicyCommand::ReconnectNow => PolicyCommand::ReconnectNow,
            })
            .collect(),
    }
}
