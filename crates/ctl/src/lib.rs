//! `failberry-ctl`: the owner's view of the failover chain. `observe` reads the failover record
//! pair, its health checks, their alarms and the recent datapoints from Route53 and CloudWatch;
//! `status` decides (with the project's model of CloudWatch and Route 53 when the emulator, which
//! evaluates neither, is behind the SDK) and renders the answer as a table or JSON. `cost`
//! prices a deployment's month before it is deployed.

pub mod cost;
pub mod observe;
pub mod status;
