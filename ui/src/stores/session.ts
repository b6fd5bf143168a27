// Who is signed in, and the sync badge every screen shows.
import { defineStore } from "pinia";
import { api } from "../api";
import type { Profile } from "../bindings/Profile";
import type { SignInInput } from "../bindings/SignInInput";
import type { SyncBadge } from "../bindings/SyncBadge";
import type { LockView } from "../bindings/LockView";

export const useSession = defineStore("session", {
  state: () => ({
    loaded: false,
    profile: null as Profile | null,
    sync: null as SyncBadge | null,
    version: "",
    /** The app lock: `open`, `set_pin`, `locked` or `signed_out` (with `notice`
     * when the platform had this device's keys erased). */
    lock: null as LockView | null,
  }),
  getters: {
    isLead: (s) => s.profile?.role === "team_lead",
    online: (s) => s.sync?.online ?? false,
    /** Signed in and nothing to enter: the data screens may show. */
    open: (s) => s.profile !== null && s.lock?.state === "open",
  },
  actions: {
    async load() {
      const s = await api.startup();
      this.profile = s.profile;
      this.version = s.version;
      this.lock = s.lock;
      this.loaded = true;
      if (this.open) await this.refreshSync();
    },
    async signIn(input: SignInInput, caCert: string | null = null) {
      this.profile = await api.signIn(input, caCert);
      this.lock = await api.lockState();
      if (this.open) await this.refreshSync();
    },
    async signOut() {
      await api.signOut();
      this.profile = null;
      this.sync = null;
      this.lock = await api.lockState().catch(() => null);
    },
    async setPin(pin: string) {
      this.lock = await api.setPin(pin);
      await this.afterOpen();
    },
    /** The session (re)opened behind the lock: it starts offline until told the
     * system's network signal, as at start (going online starts a sync). */
    async afterOpen() {
      if (typeof navigator !== "undefined") await api.setOnline(navigator.onLine).catch(() => {});
      await this.refreshSync();
    },
    async unlock(pin: string) {
      try {
        this.lock = await api.unlock(pin);
      } catch (e) {
        // Where the lock stands now (the keys erased after too many wrong PINs:
        // signed out).
        const lock = await api.lockState().catch(() => null);
        if (lock) this.lock = lock;
        if (lock?.state === "signed_out") this.profile = null;
        throw e;
      }
      if (this.open) await this.afterOpen();
    },
    /** The platform declared this device lost: its keys are erased and nobody is
     * signed in any more; the lock view carries the explanation. */
    async afterLost() {
      this.profile = null;
      this.sync = null;
      this.lock = await api.lockState().catch(() => null);
    },
    async lockNow() {
      this.lock = await api.lockNow();
      this.sync = null;
    },
    async refreshLock() {
      this.lock = await api.lockState();
    },
    async refreshSync() {
      this.sync = await api.syncBadge();
    },
    setSync(sync: SyncBadge) {
      this.sync = sync;
    },
  },
});
