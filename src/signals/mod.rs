//! Ephemeral signals — who is typing in a chat, who is online — from the
//! backend to this process's subscriptions (ARCHITECTURE decision 13).
//!
//! They are state with deadlines plus change notices, never events of the
//! log: no cursor, no replay, at most once. The pieces:
//!
//! - [`listeners::Listeners`]: the process's one listening connection,
//!   holding a channel only while something here watches its state;
//! - [`rooms::Rooms`]: one watcher per watched state (a chat's typists, a
//!   user's presence) shared by every subscription of this process; it
//!   reads the state when it starts, at every notice, and when the state
//!   says it lapses, so lapses need no announcement;
//! - [`attendance::Attendance`]: this process's hold on the presence of
//!   every user with an open connection here, renewed by heartbeats so a
//!   process that dies lets its users go offline by themselves;
//! - [`visibility`]: whose presence a viewer may see.

pub mod attendance;
pub mod listeners;
pub mod rooms;
pub mod visibility;
