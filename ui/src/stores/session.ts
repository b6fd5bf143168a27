// Who is signed in, and the sync badge every screen shows.
import { defineStore } from "pinia";
import { api } from "../api";
import type { Profile } from "../bindings/Profile";
import type { SignInInput } from "../bindings/SignInInput";
import type { SyncBadge } from "../bindings/SyncBadge";

export const useSession = defineStore("session", {
  state: () => ({
    loaded: false,
    profile: null as Profile | null,
    sync: null as SyncBadge | null,
    version: "",
  }),
  getters: {
    isLead: (s) => s.profile?.role === "team_lead",
    online: (s) => s.sync?.online ?? false,
  },
  actions: {
    async load() {
      const s = await api.startup();
      this.profile = s.profile;
      this.version = s.version;
      this.loaded = true;
      if (this.profile) await this.refreshSync();
    },
    async signIn(input: SignInInput) {
      this.profile = await api.signIn(input);
      await this.refreshSync();
    },
    async signOut() {
      await api.signOut();
      this.profile = null;
      this.sync = null;
    },
    async refreshSync() {
      this.sync = await api.syncBadge();
    },
    setSync(sync: SyncBadge) {
      this.sync = sync;
    },
  },
});
