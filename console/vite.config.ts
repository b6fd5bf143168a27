import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

// `npm run dev` proxies the API to a platform on 127.0.0.1:8080 (scripts/run.sh).
export default defineConfig({
  plugins: [vue()],
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
  build: { chunkSizeWarningLimit: 3000 },
  test: { environment: 'jsdom' },
});
