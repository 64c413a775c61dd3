/**
 * `deno task pin-image <image>`: points deploy/ at an image, by the `images:` entry of
 * `deploy/kustomization.yaml`. `<image>` is `name@sha256:<digest>` (what the release workflow
 * records after it pushes and signs an image) or `name:tag` (an image you built yourself).
 * The entry keeps the name the Deployment uses, so `kubectl apply -k deploy/` runs the image
 * given; comments and everything else in the file stay as they are.
 * @module
 */

import { isMap, isSeq, parseDocument } from "yaml";

/** The image name deploy/deployment.yaml uses; the `images:` entry rewrites it. */
export const DEPLOYED_IMAGE = "ghcr.io/gitfaas/gitfaas";

/** An image reference split into name and either a digest or a tag. */
export interface ImageReference {
  name: string;
  digest?: string;
  tag?: string;
}

const NAME = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Parses `name@sha256:…` or `name:tag`; throws a one-line error for anything else. */
export function parseImageReference(text: string): ImageReference {
  const at = text.indexOf("@");
  if (at !== -1) {
    const [name, digest] = [text.slice(0, at), text.slice(at + 1)];
    if (NAME.test(name) && DIGEST.test(digest)) return { name, digest };
  } else {
    const colon = text.lastIndexOf(":");
    const [name, tag] = [text.slice(0, colon), text.slice(colon + 1)];
    if (colon > text.lastIndexOf("/") && NAME.test(name) && TAG.test(tag)) return { name, tag };
  }
  throw new Error(
    `"${text}" is not an image reference: give registry/name@sha256:<64 hex digits> or ` +
      `registry/name:tag`,
  );
}

/** `kustomization` (YAML text) with its `images:` entry for the Deployment's image set to `image`. */
export function pinImage(kustomization: string, image: ImageReference): string {
  const doc = parseDocument(kustomization);
  if (doc.errors.length > 0) throw new Error(`kustomization.yaml: ${doc.errors[0].message}`);
  const entry: Record<string, string> = { name: DEPLOYED_IMAGE };
  if (image.name !== DEPLOYED_IMAGE) entry.newName = image.name;
  if (image.digest) entry.digest = image.digest;
  else entry.newTag = image.tag!;
  const images = doc.get("images");
  if (images === undefined) {
    doc.set("images", doc.createNode([entry]));
    return doc.toString();
  }
  if (!isSeq(images)) throw new Error("kustomization.yaml: images is not a list");
  const index = images.items.findIndex((item) =>
    isMap(item) && item.get("name") === DEPLOYED_IMAGE
  );
  if (index === -1) images.add(doc.createNode(entry));
  else images.set(index, doc.createNode(entry));
  return doc.toString();
}

if (import.meta.main) {
  const [reference, file = "deploy/kustomization.yaml"] = Deno.args;
  try {
    if (!reference) throw new Error("usage: deno task pin-image <image@sha256:digest | image:tag>");
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(file, pinImage(text, parseImageReference(reference)));
    console.log(`${file}: ${DEPLOYED_IMAGE} → ${reference}`);
  } catch (error) {
    console.error(`pin-image: ${(error as Error).message}`);
    Deno.exit(2);
  }
}
