//! `failberry-ctl`: the owner's tool. `observe` reads the failover record pair, its health
//! checks, their alarms and the recent datapoints from Route53 and CloudWatch; `status` decides
//! (with the project's model of CloudWatch and Route 53 when the emulator, which evaluates
//! neither, is behind the SDK) and renders the answer as a table or JSON. `cost` prices a
//! deployment's month before it is deployed. The config documents are edited safely through
//! `documents` (ETag-conditional writes, checked by the functions' own parsers), with the pure
//! edits in `hosts` and `targets`, the commands end to end in `commands`, and the bucket found
//! from the stack by `stack`.

pub mod commands;
pub mod cost;
pub mod documents;
pub mod hosts;
pub mod observe;
pub mod stack;
pub mod status;
pub mod targets;
