//! The HTTP API's paths: one list for the function that routes them and the clients that call
//! them (and sign them: the path is part of the canonical string).

/// `GET`: the caller's source address and the server's clock.
pub const MYIP: &str = "/v1/myip";
/// `POST`: a signed address update.
pub const UPDATE: &str = "/v1/update";
/// `POST`: a signed report of the Pi's links, data used and watchdog actions.
pub const REPORT: &str = "/v1/report";
/// `GET`: the dyndns2 protocol of routers, ddclient and inadyn.
pub const NIC_UPDATE: &str = "/nic/update";
/// `POST` and `GET`: the AWS reference solution's client protocol, at the API's root.
pub const LEGACY_ROOT: &str = "/";
/// `POST`: a signed grant of presigned S3 URLs for one clip.
pub const CLIPS: &str = "/v1/clips";
/// `POST`: fresh URLs for the parts of an interrupted multipart upload S3 does not hold yet.
pub const CLIPS_RESUME: &str = "/v1/clips/resume";
/// `POST`: assembles a multipart upload's parts into the clip.
pub const CLIPS_COMPLETE: &str = "/v1/clips/complete";
/// `GET <CLIP_RESULT_PREFIX><clip key>`: the analysis result of a clip (202 while pending).
pub const CLIP_RESULT_PREFIX: &str = "/v1/clips/";
