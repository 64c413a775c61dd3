/**
 * Throw-away TLS material for test servers.
 *
 * Keys are generated at run time with the `openssl` CLI so that no private key
 * is ever committed, and cached per process because each generation runs
 * `openssl` several times while test suites start many servers.
 *
 * @module
 */

/** A CA certificate and a server certificate/key signed by it. */
export interface TestCertificates {
  /** PEM of the self-signed CA that clients should trust. */
  caPem: string;
  /** PEM of the server certificate (SANs: IP 127.0.0.1, DNS localhost). */
  certPem: string;
  /** PEM (PKCS#8) of the server private key. */
  keyPem: string;
}

let cached: Promise<TestCertificates> | undefined;

/**
 * Returns a CA and a loopback server certificate, generating them on first use.
 *
 * Concurrent callers share one generation; a failed generation is not cached so
 * a later call can retry.
 */
export function testCertificates(): Promise<TestCertificates> {
  cached ??= generate().catch((error) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

/** P-256 keys: fast to make, and accepted by Go, rustls and Node alike. */
export const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Runs `openssl` in `cwd`; throws with its error output when it fails. */
export async function openssl(cwd: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
  }
}

async function generate(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "kube_sim_tls_" });
  try {
    await openssl(dir, [
      "req",
      "-x509",
      ...EC_KEY,
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-days",
      "3650",
      "-subj",
      "/CN=kube-sim-ca",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await openssl(dir, [
      "req",
      ...EC_KEY,
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=kube-apiserver",
    ]);
    // Go's crypto/x509 (kubectl) ignores the CN, so the SANs are what matter.
    await Deno.writeTextFile(
      `${dir}/server.ext`,
      [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "subjectKeyIdentifier=hash",
        "authorityKeyIdentifier=keyid,issuer",
        "",
      ].join("\n"),
    );
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "3650",
      "-extfile",
      "server.ext",
    ]);
    const [caPem, certPem, keyPem] = await Promise.all(
      ["ca.crt", "server.crt", "server.key"].map((f) => Deno.readTextFile(`${dir}/${f}`)),
    );
    return { caPem, certPem, keyPem };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
