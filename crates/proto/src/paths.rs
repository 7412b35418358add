//! The HTTP API's paths: one list for the function that routes them and the clients that call
//! them (and sign them: the path is part of the canonical string).

/// `GET`: the caller's source address and the server's clock.
pub const MYIP: &str = "/v1/myip";
/// `POST`: a signed address update.
pub const UPDATE: &str = "/v1/update";
/// `GET`: the dyndns2 protocol of routers, ddclient and inadyn.
pub const NIC_UPDATE: &str = "/nic/update";
/// `POST` and `GET`: the AWS reference solution's client protocol, at the API's root.
pub const LEGACY_ROOT: &str = "/";
