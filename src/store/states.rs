//! The states and kinds the database stores as text, as types. Only this module spells them.
use std::fmt;

use sqlx::any::{AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Any, Database, Decode, Encode, Type};

type Buffer = <Any as Database>::ArgumentBuffer;

use crate::domain::Email;

/// Declares a text-coded enum: its spellings, `as_str`, `Display`, and the sqlx encoding.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The position in `ALL`, for tables indexed by kind.
            pub fn index(self) -> usize {
                Self::ALL.iter().position(|x| *x == self).unwrap_or(0)
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl Type<Any> for $name {
            fn type_info() -> AnyTypeInfo {
                <&str as Type<Any>>::type_info()
            }

            fn compatible(ty: &AnyTypeInfo) -> bool {
                <&str as Type<Any>>::compatible(ty)
            }
        }

        impl Encode<'_, Any> for $name {
            fn encode_by_ref(&self, buf: &mut Buffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'_, Any>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Any> for $name {
            fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
                let s = <&str as Decode<'r, Any>>::decode(value)?;
                Self::parse(s).ok_or_else(|| {
                    format!(concat!("`{}` is not a known ", stringify!($name)), s).into()
                })
            }
        }
    };
}

text_enum! {
    /// Where an access request stands (DESIGN.md, Lifecycle).
    RequestState {
        Pending = "pending",
        Approved = "approved",
        Denied = "denied",
        Expired = "expired",
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// Where a grant stands: `Active` until its end, or ended early.
    GrantState {
        Active = "active",
        Expired = "expired",
        Revoked = "revoked",
    }
}

text_enum! {
    /// What an audit event records.
    AuditAction {
        RequestCreated = "request_created",
        ExtensionRequested = "extension_requested",
        RequestCancelled = "request_cancelled",
        RequestApproved = "request_approved",
        RequestDenied = "request_denied",
        RequestExpired = "request_expired",
        RequestEscalated = "request_escalated",
        ApprovalRecorded = "approval_recorded",
        DecisionRefused = "decision_refused",
        GrantExtended = "grant_extended",
        GrantRevoked = "grant_revoked",
        GrantExpired = "grant_expired",
        NotificationFailed = "notification_failed",
        /// An administrator signed someone out everywhere.
        SessionsEnded = "sessions_ended",
        /// Someone signed out: other replicas forget that session at once.
        SignedOut = "signed_out",
    }
}

text_enum! {
    /// Where a decision or change came from, for the audit log.
    Via {
        /// A review link from an email.
        Email = "email",
        Discord = "discord",
        Slack = "slack",
        Web = "web",
        Cli = "cli",
        Scheduler = "scheduler",
        /// A `[[webhooks]]` delivery (its failures are on the record).
        Webhook = "webhook",
    }
}

text_enum! {
    /// How a notification is delivered: each channel has its own outbox worker.
    Channel {
        Email = "email",
        Discord = "discord",
        Slack = "slack",
        Webhook = "webhook",
    }
}

impl Type<Any> for Email {
    fn type_info() -> AnyTypeInfo {
        <&str as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <&str as Type<Any>>::compatible(ty)
    }
}

impl Encode<'_, Any> for Email {
    fn encode_by_ref(&self, buf: &mut Buffer) -> Result<IsNull, BoxDynError> {
        <&str as Encode<'_, Any>>::encode_by_ref(&self.as_str(), buf)
    }
}

impl<'r> Decode<'r, Any> for Email {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        let s = <&str as Decode<'r, Any>>::decode(value)?;
        Email::parse(s).map_err(Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_reads_back() {
        for s in RequestState::ALL {
            assert_eq!(RequestState::parse(s.as_str()), Some(*s));
        }
        for s in GrantState::ALL {
            assert_eq!(GrantState::parse(s.as_str()), Some(*s));
        }
        for s in AuditAction::ALL {
            assert_eq!(AuditAction::parse(s.as_str()), Some(*s));
        }
        for s in Via::ALL {
            assert_eq!(Via::parse(s.as_str()), Some(*s));
        }
        assert_eq!(RequestState::parse("approve"), None);
    }
}
