import { Type, type TSchema } from "@sinclair/typebox";

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** The contract's error envelope (§3.1): `message` and `error` always carry the same text. */
export const ErrorEnvelope = Type.Object(
  {
    status: Type.Literal("error"),
    message: Type.String(),
    error: Type.String(),
    code: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.String())),
    retry_after: Type.Optional(Type.Number()),
  },
  { $id: "ErrorEnvelope" },
);

export const JobIdParams = Type.Object({ jobId: Type.String() });

export const OutputFormat = Type.Union([
  Type.Literal("json"),
  Type.Literal("markdown"),
  Type.Literal("text"),
  Type.Literal("table"),
]);

export const ScrapeMode = Type.Union([Type.Literal("default"), Type.Literal("fast")]);

export const Progress = Type.Object({ message: Type.String(), progress: Type.Number() });
