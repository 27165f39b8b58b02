// Module worker: derivePasswordKeys (Argon2id, 64 MiB and up) off the main thread.
//   {op: "derive", args: {password, salt, params}} → PasswordKeys
import { derivePasswordKeys } from "./keys.js";
import { serve } from "./rpc.js";

serve({
  derive({ password, salt, params }) {
    return { result: derivePasswordKeys(password, salt, params) };
  },
});
