// The signed-in user (GET /session), shared by the pages.
import { reactive } from 'vue';
import { ApiError, get, setCsrf, type Schemas } from './api/client';

export const session = reactive<{ view: Schemas['SessionView'] | null; checked: boolean }>({
  view: null,
  checked: false,
});

export async function loadSession(): Promise<Schemas['SessionView'] | null> {
  try {
    const v = await get<Schemas['SessionView']>('/session');
    setCsrf(v.csrf_token);
    session.view = v;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    session.view = null;
  }
  session.checked = true;
  return session.view;
}

export function role(): string {
  return session.view?.user.role ?? '';
}
