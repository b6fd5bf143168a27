//! The service layer: every rule of the platform and every message a person reads,
//! written once. The HTTP handlers (the `http` module) and the command line
//! (`cli`) call these functions and nothing else; the functions call the
//! store (`crate::store`), which only stores.
//!
//! Every function takes the [`Platform`] (store, plans, blob folder, settings), an
//! explicit [`Actor`] (who, role, district, device) where the answer depends on who
//! asks, and `now` where time matters. Nothing is ambient. Errors are one
//! [`ServiceError`] with a closed code and a Chinese message; the adapters map
//! codes to statuses or exit codes.
//!
//! One module per area: [`people`] (users, devices, enrolment), [`registry`],
//! [`plans`], [`draws`], [`review`] (inspections and the team lead's decisions),
//! [`reports`] (汇总表, public list, progress), [`sync`] (push, pull, photos,
//! 文号 leases), [`documents`] (archive copies) and [`audit`].

pub mod audit;
pub mod documents;
pub mod draws;
pub mod people;
pub mod plans;
pub mod public;
pub mod registry;
pub mod reports;
pub mod review;
pub mod sessions;
pub mod spreadsheet;
pub mod sync;

pub use crate::error::{ErrorCode, ServiceError, ServiceResult};

use crate::blobs::BlobStore;
use crate::model::User;
use crate::store::{ServerStore, Stamp, StoreError, Unique};
use chrono::{DateTime, Utc};
use jiandu_core::Role;
use jiandu_core::templates::TemplateSet;
use std::sync::Arc;
use uuid::Uuid;

/// What every service function works with: the store, the plans, the blob folder
/// and the platform's settings. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Platform {
    pub store: Arc<dyn ServerStore>,
    /// Built-in plans and the stored versions read so far (`plans`).
    pub plans: Arc<plans::PlanLibrary>,
    /// Photos and signature images: a folder or an object store (`crate::blobs`).
    pub blobs: Arc<BlobStore>,
    /// 执法机关 (issuing authority) printed on the documents (`JIANDU_AUTHORITY`);
    /// told to each device at enrolment, so its on-site copies and the platform's
    /// archive copies agree.
    pub authority: Arc<str>,
    /// Password hashing and verification, bounded (`auth::PasswordPool`).
    pub passwords: Arc<crate::auth::PasswordPool>,
    /// Limits on photos (settings file) and each device's uploads today.
    pub uploads: sync::UploadLimits,
    /// Whose X-Forwarded-* headers are believed (settings `trusted_proxies`).
    pub proxies: Arc<crate::settings::TrustedProxies>,
    pub quota: Arc<sync::DeviceQuota>,
    /// Console session expiry and cookie settings.
    pub console: sessions::SessionSettings,
    /// Device token expiry without use.
    pub tokens: people::TokenSettings,
    /// The public result lists, ready to send (`public`).
    pub public: Arc<public::PublicCache>,
    /// This process's counters (`GET /metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Who may read `/metrics` without the admin token (settings `metrics_allow`).
    pub metrics_allow: Arc<crate::settings::TrustedProxies>,
}

impl Platform {
    /// The platform over `store` with the built-in plans, the default blob folder
    /// and the authority of `JIANDU_AUTHORITY`.
    pub fn new(store: Arc<dyn ServerStore>, plans: TemplateSet) -> Self {
        Self {
            store,
            plans: Arc::new(plans::PlanLibrary::new(plans)),
            blobs: Arc::new(BlobStore::folder(
                std::path::Path::new(crate::settings::DEFAULT_DATA_DIR).join("blobs"),
            )),
            authority: documents::authority().into(),
            passwords: Arc::new(crate::auth::PasswordPool::default()),
            uploads: sync::UploadLimits::default(),
            proxies: Arc::default(),
            quota: Arc::default(),
            console: sessions::SessionSettings::default(),
            tokens: people::TokenSettings::default(),
            public: Arc::default(),
            metrics: Arc::default(),
            metrics_allow: Arc::default(),
        }
    }

    /// Lets these addresses read `/metrics` without the admin token.
    pub fn with_metrics_allow(mut self, allow: crate::settings::TrustedProxies) -> Self {
        self.metrics_allow = Arc::new(allow);
        self
    }

    /// Console sessions expire and cookies are marked as `console` says.
    pub fn with_sessions(mut self, console: sessions::SessionSettings) -> Self {
        self.console = console;
        self
    }

    /// Device tokens expire as `tokens` says (settings `device_token_idle_days`).
    pub fn with_tokens(mut self, tokens: people::TokenSettings) -> Self {
        self.tokens = tokens;
        self
    }

    /// Believes X-Forwarded-For / -Proto from these proxies only.
    pub fn with_proxies(mut self, proxies: crate::settings::TrustedProxies) -> Self {
        self.proxies = Arc::new(proxies);
        self
    }

    /// Photos are limited as `uploads` says (settings file).
    pub fn with_uploads(mut self, uploads: sync::UploadLimits) -> Self {
        self.uploads = uploads;
        self
    }

    /// Prints `authority` as the 执法机关 (instead of `JIANDU_AUTHORITY`).
    pub fn with_authority(mut self, authority: &str) -> Self {
        self.authority = authority.trim().into();
        self
    }

    /// Keeps photos and signature images in `dir` (settings `blobs`).
    pub fn with_blobs(mut self, dir: std::path::PathBuf) -> Self {
        self.blobs = Arc::new(BlobStore::folder(dir));
        self
    }

    /// Keeps photos and signature images in `blobs` (a folder or an object store).
    pub fn with_blob_store(mut self, blobs: BlobStore) -> Self {
        self.blobs = Arc::new(blobs);
        self
    }

    pub fn store(&self) -> &dyn ServerStore {
        &*self.store
    }
}

/// How a request reached the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// The HTTP API with a device token (`device` is set) or an enrolment.
    Api,
    /// The web console, signed in with a session cookie.
    Console,
    /// The command line, run by `operator` (`$USER` or `--by`) on the server.
    Cli { operator: String },
    /// Library callers with no person behind them: tests, benchmarks, the demo.
    System,
}

/// Who acts. Every rule that depends on the person reads it from here.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The platform user acting. None: the command line's operator or the system,
    /// who act with an administrator's reach.
    pub user: Option<User>,
    /// The enrolled device the request came from.
    pub device: Option<Uuid>,
    pub via: Via,
}

impl Actor {
    /// A signed-in user on an enrolled device.
    pub fn device(user: User, device: Uuid) -> Self {
        Self {
            user: Some(user),
            device: Some(device),
            via: Via::Api,
        }
    }

    /// A user who has just proven their password (enrolment), before any device.
    pub fn signing_in(user: User) -> Self {
        Self {
            user: Some(user),
            device: None,
            via: Via::Api,
        }
    }

    /// A user signed in to the web console.
    pub fn console(user: User) -> Self {
        Self {
            user: Some(user),
            device: None,
            via: Via::Console,
        }
    }

    /// The command line's operator, with an administrator's reach.
    pub fn operator(name: impl Into<String>) -> Self {
        Self {
            user: None,
            device: None,
            via: Via::Cli {
                operator: name.into(),
            },
        }
    }

    /// The command line's operator acting as a platform user (e.g. a team lead
    /// approving from a terminal): the user's rules apply.
    pub fn operator_as(name: impl Into<String>, user: User) -> Self {
        Self {
            user: Some(user),
            device: None,
            via: Via::Cli {
                operator: name.into(),
            },
        }
    }

    pub fn system() -> Self {
        Self {
            user: None,
            device: None,
            via: Via::System,
        }
    }

    /// The role whose rules apply: the user's, or an administrator's for the
    /// operator and the system.
    pub fn role(&self) -> Role {
        self.user.as_ref().map(|u| u.role).unwrap_or(Role::Admin)
    }

    pub fn user_id(&self) -> Option<Uuid> {
        self.user.as_ref().map(|u| u.id)
    }

    /// The name recorded with a draw or a re-assignment: the username, or the
    /// operator's name.
    pub fn name(&self) -> String {
        match (&self.user, &self.via) {
            (Some(u), _) => u.username.clone(),
            (None, Via::Cli { operator }) => operator.clone(),
            (None, _) => "system".to_owned(),
        }
    }

    /// As the audit log names actors (docs/AUDIT.md): `username (设备 ID)`,
    /// `username (控制台)`, `username`, `cli:NAME`, `cli:NAME（username）` or `system`.
    pub fn audit_name(&self) -> String {
        match (&self.user, self.device, &self.via) {
            (Some(u), Some(d), _) => format!("{} (设备 {d})", u.username),
            (Some(u), None, Via::Cli { operator }) => format!("cli:{operator}（{}）", u.username),
            (Some(u), None, Via::Console) => format!("{} (控制台)", u.username),
            (Some(u), None, _) => u.username.clone(),
            (None, _, Via::Cli { operator }) => format!("cli:{operator}"),
            (None, _, _) => "system".to_owned(),
        }
    }

    /// The stamp of a write made now by this actor.
    pub fn stamp(&self, now: DateTime<Utc>) -> Stamp {
        Stamp::new(self.audit_name(), now)
    }

    /// The core rules' view of this actor (inspection methods).
    pub fn core(&self) -> Option<jiandu_core::Actor> {
        self.user.as_ref().map(|u| jiandu_core::Actor {
            user_id: u.id,
            name: u.display_name.clone(),
            role: u.role,
        })
    }

    /// `Ok` when the actor's role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> ServiceResult<()> {
        if roles.contains(&self.role()) {
            Ok(())
        } else {
            Err(ServiceError::forbidden("当前账号的角色无权执行此操作"))
        }
    }

    /// Ids of the users whose tasks this actor may see: themselves (inspector), their
    /// team in their district (team lead), everyone (administrator: `None`).
    pub async fn scope(&self, p: &Platform) -> ServiceResult<Option<Vec<Uuid>>> {
        let Some(me) = &self.user else {
            return Ok(None);
        };
        Ok(match me.role {
            Role::Admin => None,
            Role::Inspector => Some(vec![me.id]),
            Role::TeamLead => Some(
                p.store
                    .list_users()
                    .await?
                    .into_iter()
                    .filter(|u| u.team == me.team && u.district == me.district)
                    .map(|u| u.id)
                    .collect(),
            ),
        })
    }
}

/// Storage errors as the service answers them. Uniqueness violations carry their
/// own message here; everything unexpected is internal (logged, never shown).
impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(e) => e,
            StoreError::Duplicate { what, value } => match what {
                Unique::Username => {
                    ServiceError::new(ErrorCode::UsernameTaken, format!("用户名“{value}”已存在"))
                }
                Unique::BadgeNo => ServiceError::new(
                    ErrorCode::BadgeTaken,
                    format!("执法证号“{value}”已属于另一用户"),
                ),
                Unique::DrawOfPlan => ServiceError::new(
                    ErrorCode::AlreadyDrawn,
                    format!("计划“{value}”已经抽取过，抽取结果不得随意更改"),
                ),
            },
            // For the operator who started the server on a newer database.
            StoreError::TooNew { found, supported } => ServiceError::new(
                ErrorCode::Internal,
                format!(
                    "数据库结构版本为 {found}，本程序只支持到 {supported}：请升级 jiandu-server"
                ),
            ),
            StoreError::Internal(cause) => ServiceError::internal(cause),
        }
    }
}

/// Characters in `s`.
pub(crate) fn chars(s: &str) -> usize {
    s.chars().count()
}
