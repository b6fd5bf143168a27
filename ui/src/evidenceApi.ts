// Photos, signatures and documents: typed wrappers over the shell's commands (each a
// one-line adapter over crates/app). File bytes travel as the RAW IPC body (a
// Uint8Array, no JSON array or base64 of megabytes) with the JSON input
// percent-encoded in the `x-jiandu-input` header; files come back as ArrayBuffers.
import { invoke } from "@tauri-apps/api/core";
import { inOrder, toAppError } from "./api";
import { runJob, type Job } from "./jobs";
import type { DocKindCode } from "./bindings/DocKindCode";
import type { DocumentsView } from "./bindings/DocumentsView";
import type { ExportView } from "./bindings/ExportView";
import type { JobProgress } from "./bindings/JobProgress";
import type { PhotoInput } from "./bindings/PhotoInput";
import type { PhotoView } from "./bindings/PhotoView";
import type { RefusalInput } from "./bindings/RefusalInput";
import type { SignatureInput } from "./bindings/SignatureInput";
import type { SignaturesView } from "./bindings/SignaturesView";
import type { VoidPhotoInput } from "./bindings/VoidPhotoInput";

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw toAppError(e);
  }
}

/** An edit whose input rides in a header and whose body is raw bytes (in order with
 * the other edits, see api.ts). */
function upload<T>(command: string, input: unknown, bytes: Uint8Array): Promise<T> {
  return inOrder(async () => {
    try {
      return await invoke<T>(command, bytes, {
        headers: { "x-jiandu-input": encodeURIComponent(JSON.stringify(input)) },
      });
    } catch (e) {
      throw toAppError(e);
    }
  });
}

export const evidenceApi = {
  addPhoto: (input: PhotoInput, bytes: Uint8Array) => upload<PhotoView>("add_photo", input, bytes),
  photos: (taskId: string, point?: string) => call<PhotoView[]>("photos", { taskId, point: point ?? null }),
  photoThumbnail: (photoId: string) => call<ArrayBuffer>("photo_thumbnail", { photoId }),
  photoOriginal: (photoId: string) => call<ArrayBuffer>("photo_original", { photoId }),
  voidPhoto: (input: VoidPhotoInput) => inOrder(() => call<PhotoView>("void_photo", { input })),
  signatures: (taskId: string) => call<SignaturesView>("signatures", { taskId }),
  addSignature: (input: SignatureInput, png: Uint8Array) =>
    upload<SignaturesView>("add_signature", input, png),
  recordRefusal: (input: RefusalInput, witnessPng: Uint8Array) =>
    upload<SignaturesView>("record_refusal", input, witnessPng),
  documents: (taskId: string) => call<DocumentsView>("documents", { taskId }),
  /** Makes a document; its progress (photos read, the render) reaches `onProgress`;
   * `cancel()` stops it before anything is written. */
  generateDocument: (taskId: string, kind: DocKindCode, onProgress?: (p: JobProgress) => void): Job<DocumentsView> =>
    runJob<DocumentsView>("generate_document", { taskId, kind }, onProgress),
  documentPdf: (taskId: string, kind: DocKindCode) => call<ArrayBuffer>("document_pdf", { taskId, kind }),
  /** The platform's archive copy (a team lead reads a submission's documents). */
  archiveDocument: (taskId: string, kind: DocKindCode) => call<ArrayBuffer>("archive_document", { taskId, kind }),
  exportDocument: (taskId: string, kind: DocKindCode, open: boolean) =>
    call<string>("export_document", { taskId, kind, open }),
  /** 导出本机数据 into Downloads (the whole user's data; works offline and revoked),
   * with progress; `cancel()` stops it and removes what was copied. */
  exportData: (onProgress?: (p: JobProgress) => void, pin?: string, plain = false): Job<ExportView> =>
    runJob<ExportView>("export_data", pin === undefined ? {} : { pin, plain }, onProgress),
};

/** The bytes of a `data:` URL (what Vant Signature gives). */
export function dataUrlBytes(url: string): Uint8Array {
  const comma = url.indexOf(",");
  const bin = atob(url.slice(comma + 1));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** An object URL for JPEG bytes (thumbnails, previews); revoke when done. */
export function jpegUrl(bytes: ArrayBuffer): string {
  return URL.createObjectURL(new Blob([bytes], { type: "image/jpeg" }));
}

/** File size for people: 1.2 MB, 350 KB. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(n / 1024))} KB`;
}
