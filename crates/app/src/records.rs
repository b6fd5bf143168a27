//! Where the app keeps a user's tasks and inspections: the [`Records`] port.
//!
//! The use cases speak to this trait only, so they do not care whether the rows live
//! in the device store (`jiandu-store`, SQLite with an outbox, being built now) or in
//! [`FileRecords`], the stand-in used until then: one JSON snapshot per user, replaced
//! atomically (write to a temporary file, fsync, rename, fsync the directory) on every
//! change, so a tap that returned is on disk and a crash mid-write leaves the previous
//! snapshot whole. It is adequate for hundreds of tasks, not for photos; the adapter
//! over `jiandu-store` replaces it without touching the use cases.
//!
//! Every write names the [`Change`] it makes, which is what the store's outbox needs.

use jiandu_core::Inspection;
use jiandu_core::inspection::Task;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Why a read or write failed. Shown to the person as a storage error.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: 数据文件已损坏（{source}）")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
}

/// What one write changes, for the outbox (SYNC.md: every local change writes its row
/// and an outbox entry in the same transaction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Change {
    /// 亮证: the inspection started.
    Started,
    /// A finding was recorded or replaced.
    Finding {
        point: String,
    },
    Outcome,
    Submitted,
    Unreachable,
    /// A team lead's decision.
    Reviewed,
}

/// The persistence the use cases need.
pub trait Records: Send {
    /// Every task on this device with its inspection, if one exists.
    fn tasks(&self) -> Result<Vec<(Task, Option<Inspection>)>, RecordsError>;
    fn task(&self, id: Uuid) -> Result<Option<(Task, Option<Inspection>)>, RecordsError>;
    /// Adds or replaces tasks (sync pull, demo data).
    fn put_tasks(&mut self, tasks: &[Task]) -> Result<(), RecordsError>;
    /// Writes an inspection after `change`, durably, with its outbox entry.
    fn save_inspection(
        &mut self,
        inspection: &Inspection,
        change: &Change,
    ) -> Result<(), RecordsError>;
    /// Local changes not yet accepted by the server.
    fn pending_changes(&self) -> Result<u32, RecordsError>;
}

/// One JSON snapshot file per user (see the module doc for why and until when).
#[derive(Debug)]
pub struct FileRecords {
    path: PathBuf,
    data: Snapshot,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Snapshot {
    tasks: BTreeMap<Uuid, Task>,
    inspections: BTreeMap<Uuid, Inspection>,
    /// Stand-in for the outbox: changes in device order.
    outbox: Vec<OutboxEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct OutboxEntry {
    device_seq: u64,
    inspection_id: Uuid,
    version: u64,
    change: Change,
}

impl FileRecords {
    /// Opens (or creates) the snapshot at `path`. A corrupt file is reported, never
    /// silently replaced: it holds evidence.
    pub fn open(path: &Path) -> Result<Self, RecordsError> {
        let data = match fs::read(path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|source| RecordsError::Corrupt {
                    path: path.to_owned(),
                    source,
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Snapshot::default(),
            Err(source) => {
                return Err(RecordsError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        Ok(Self {
            path: path.to_owned(),
            data,
        })
    }

    fn persist(&self) -> Result<(), RecordsError> {
        let io = |source| RecordsError::Io {
            path: self.path.clone(),
            source,
        };
        let dir = self.path.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io)?;
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(&self.data).map_err(|e| io(std::io::Error::other(e)))?;
        {
            let mut f = fs::File::create(&tmp).map_err(io)?;
            f.write_all(&bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        fs::rename(&tmp, &self.path).map_err(io)?;
        // The rename itself must reach the disk before we report success.
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(())
    }

    /// Persists after an in-memory change; on failure reloads what is on disk, so
    /// memory never claims more than the disk holds.
    fn commit(&mut self) -> Result<(), RecordsError> {
        if let Err(e) = self.persist() {
            if let Ok(on_disk) = Self::open(&self.path) {
                self.data = on_disk.data;
            }
            return Err(e);
        }
        Ok(())
    }

    fn with_inspection(&self, task: &Task) -> (Task, Option<Inspection>) {
        let insp = self
            .data
            .inspections
            .values()
            .find(|i| i.task_id == task.id)
            .cloned();
        (task.clone(), insp)
    }
}

impl Records for FileRecords {
    fn tasks(&self) -> Result<Vec<(Task, Option<Inspection>)>, RecordsError> {
        let by_task: BTreeMap<Uuid, &Inspection> = self
            .data
            .inspections
            .values()
            .map(|i| (i.task_id, i))
            .collect();
        Ok(self
            .data
            .tasks
            .values()
            .map(|t| (t.clone(), by_task.get(&t.id).map(|i| (*i).clone())))
            .collect())
    }

    fn task(&self, id: Uuid) -> Result<Option<(Task, Option<Inspection>)>, RecordsError> {
        Ok(self.data.tasks.get(&id).map(|t| self.with_inspection(t)))
    }

    fn put_tasks(&mut self, tasks: &[Task]) -> Result<(), RecordsError> {
        for t in tasks {
            self.data.tasks.insert(t.id, t.clone());
        }
        self.commit()
    }

    fn save_inspection(
        &mut self,
        inspection: &Inspection,
        change: &Change,
    ) -> Result<(), RecordsError> {
        let device_seq = self.data.outbox.last().map_or(1, |e| e.device_seq + 1);
        self.data
            .inspections
            .insert(inspection.id, inspection.clone());
        self.data.outbox.push(OutboxEntry {
            device_seq,
            inspection_id: inspection.id,
            version: inspection.version,
            change: change.clone(),
        });
        self.commit()
    }

    fn pending_changes(&self) -> Result<u32, RecordsError> {
        Ok(u32::try_from(self.data.outbox.len()).unwrap_or(u32::MAX))
    }
}
