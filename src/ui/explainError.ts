/**
 * Engine errors in plain words: what happened and what to do, with the technical text kept for a
 * "Details" disclosure. Errors cross the worker boundary as name + message only (Comlink), so the
 * classification reads those: the error class names of src/errors.ts and the messages HttpSource,
 * the store and the plan check write (src/weights/httpSource.ts, src/store/db.ts, src/pipeline/plan.ts).
 */

/** A plain sentence (`title`) and the next step (`advice`). */
export interface Explanation {
  title: string;
  advice: string;
}

interface Rule {
  test(name: string, message: string, online: boolean): boolean;
  explain(message: string): Explanation;
}

const HTTP_STATUS = /\bHTTP (\d{3})\b/;
const status = (message: string): number | null => {
  const m = HTTP_STATUS.exec(message);
  return m ? Number(m[1]) : null;
};
/** A fetch that never got a response (browsers say "Failed to fetch" / "NetworkError …"; HttpSource "network error:"). */
const NO_RESPONSE = /network error|failed to fetch|networkerror|load failed|connection dropped/i;

const RULES: readonly Rule[] = [
  {
    test: (_n, m, online) => !online && (NO_RESPONSE.test(m) || /offline/i.test(m)),
    explain: () => ({
      title: 'This browser is offline.',
      advice: 'Connect to the network and try again; a download goes on from where it stopped.',
    }),
  },
  {
    test: (_n, m) => status(m) === 401 || status(m) === 403,
    explain: () => ({
      title: 'The model host refused access.',
      advice:
        'The model may be gated or private: accept its license on Hugging Face and use a link this browser may read, or choose another model.',
    }),
  },
  {
    test: (_n, m) => status(m) === 404 || /file not found in model/.test(m),
    explain: () => ({
      title: 'The model was not found there.',
      advice: 'Check the name (owner/name on Hugging Face) or the link (a folder with model_index.json, or a Kleinbild pack).',
    }),
  },
  {
    test: (_n, m) => NO_RESPONSE.test(m),
    explain: () => ({
      title: 'The model host could not be reached.',
      advice:
        'The server may be down, or it may not allow other sites to read its files (CORS). Check the link, try again later, or download the model folder and import it.',
    }),
  },
  {
    test: (_n, m) => status(m) === 429 || (status(m) ?? 0) >= 500,
    explain: () => ({ title: 'The model host is busy or failing.', advice: 'Try again in a few minutes; a download goes on from where it stopped.' }),
  },
  {
    test: (n, m) => n === 'StorageFull' || /QuotaExceededError/.test(m),
    explain: () => ({
      title: 'There is not enough storage space for the model.',
      advice: 'Free disk space or delete stored models (Stored models below), then press Resume.',
    }),
  },
  {
    test: (n, m) => n === 'InvalidInput' && /this GPU allows|fits on this GPU/.test(m),
    explain: (m) => {
      const fit = /The largest size of this shape that fits is (\d+×\d+)/.exec(m);
      return {
        title: 'This image size is too large for this GPU.',
        advice: fit ? `Choose ${fit[1]} or smaller, or turn on Low GPU memory.` : 'Choose a smaller size, or turn on Low GPU memory.',
      };
    },
  },
  {
    test: (n) => n === 'WebGpuUnavailable',
    explain: () => ({ title: 'This browser cannot use the GPU here.', advice: 'Use a recent Chrome, Edge or Safari with WebGPU, on a computer with a GPU.' }),
  },
  {
    test: (n) => n === 'DeviceLost',
    explain: () => ({
      title: 'The GPU stopped working for this page.',
      advice: 'Load the model again. If it keeps happening, turn on Low GPU memory or choose a smaller size.',
    }),
  },
  {
    test: (n) => n === 'IntegrityFailure',
    explain: () => ({ title: 'A stored or downloaded file is damaged.', advice: 'Delete the model and download it again.' }),
  },
];

/**
 * The plain explanation of an error, or null when it has none (the message is shown as it is).
 * `online`: navigator.onLine when the error was shown. Rules are tried in order; the first that
 * matches wins (offline before every network cause).
 */
export function explainError(error: { name: string; message: string }, online: boolean): Explanation | null {
  const rule = RULES.find((r) => r.test(error.name, error.message, online));
  return rule ? rule.explain(error.message) : null;
}
