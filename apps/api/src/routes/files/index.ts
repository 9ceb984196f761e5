import { verifyBlobSignature } from "@orbweaver/storage";
import type { FastifyInstance } from "fastify";
import { AppError } from "../../errors.ts";

/**
 * Screenshots and crawled pages behind signed links (`/files/<key>?expires&signature`), outside the
 * API prefix and without an API key: the HMAC is the credential. Tampered or expired → 403.
 */
export default async function filesRoutes(app: FastifyInstance) {
  app.get<{ Params: { "*": string }; Querystring: { expires?: string; signature?: string } }>(
    "/files/*",
    { schema: { hide: true } },
    async (request, reply) => {
      const key = request.params["*"];
      const verdict = verifyBlobSignature({
        key,
        expires: request.query.expires,
        signature: request.query.signature,
        secret: app.deps.secret,
      });
      if (verdict === "expired") throw new AppError("INVALID_API_KEY", "This link has expired");
      if (verdict === "invalid") throw new AppError("INVALID_API_KEY", "Invalid link signature");
      // A store that cannot answer is a 503 (error handler), not a missing file.
      const blob = await app.deps.blobs.get(key);
      if (!blob) throw new AppError("NOT_FOUND", "File not found");
      void reply.header("content-type", blob.contentType).header("content-length", blob.size);
      void reply.header("cache-control", "private, max-age=300");
      // Stored pages are other sites' HTML: opened from this origin, their scripts would run on the
      // API's origin (and its /docs). A sandboxed document gets an opaque origin and no scripts.
      void reply.header("content-security-policy", "sandbox").header("x-content-type-options", "nosniff");
      return reply.send(blob.body);
    },
  );
}
