/**
 * Certificates and keys of the test control plane, made with the `openssl` CLI in the
 * cluster's own temporary folder at every start (no key is ever committed or reused): a CA, the
 * API server's serving certificate, an admin client certificate (group `system:masters`), and
 * the key that signs service-account tokens.
 * @module
 */

import { EC_KEY, openssl } from "../tls.ts";

/** Paths of the files {@linkcode makePki} writes. */
export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  /** Private key that signs service-account tokens. */
  serviceAccountKey: string;
  /** Its public key, which verifies them. */
  serviceAccountPub: string;
}

/** Writes a key and a certificate signed by the CA, with the given extensions. */
async function signed(
  dir: string,
  name: string,
  options: { subject: string; extensions: string[] },
): Promise<void> {
  await openssl(dir, [
    "req",
    ...EC_KEY,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    options.subject,
  ]);
  await Deno.writeTextFile(`${dir}/${name}.ext`, [...options.extensions, ""].join("\n"));
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "30",
    "-extfile",
    `${name}.ext`,
  ]);
}

/** Makes every certificate and key in `dir` (which must exist). */
export async function makePki(dir: string): Promise<Pki> {
  await openssl(dir, [
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "30",
    "-subj",
    "/CN=gitfaas-test-cluster-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await signed(dir, "apiserver", {
    subject: "/CN=kube-apiserver",
    extensions: [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      // Loopback for the tests, and the in-cluster names a pod would use.
      "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes," +
      "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local",
    ],
  });
  await signed(dir, "admin", {
    subject: "/O=system:masters/CN=gitfaas-test-admin",
    extensions: [
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=clientAuth",
    ],
  });
  await openssl(dir, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-out",
    "sa.key",
  ]);
  await openssl(dir, ["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"]);
  return {
    caCert: `${dir}/ca.crt`,
    caKey: `${dir}/ca.key`,
    serverCert: `${dir}/apiserver.crt`,
    serverKey: `${dir}/apiserver.key`,
    adminCert: `${dir}/admin.crt`,
    adminKey: `${dir}/admin.key`,
    serviceAccountKey: `${dir}/sa.key`,
    serviceAccountPub: `${dir}/sa.pub`,
  };
}

/** A kubeconfig that logs in to `server` with the admin certificate, its files embedded. */
export async function adminKubeconfig(pki: Pki, server: string): Promise<string> {
  const b64 = async (path: string) => btoa(await Deno.readTextFile(path));
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: gitfaas-test",
    "    cluster:",
    `      server: ${server}`,
    `      certificate-authority-data: ${await b64(pki.caCert)}`,
    "users:",
    "  - name: gitfaas-test-admin",
    "    user:",
    `      client-certificate-data: ${await b64(pki.adminCert)}`,
    `      client-key-data: ${await b64(pki.adminKey)}`,
    "contexts:",
    "  - name: gitfaas-test",
    "    context:",
    "      cluster: gitfaas-test",
    "      user: gitfaas-test-admin",
    "      namespace: default",
    "current-context: gitfaas-test",
    "",
  ].join("\n");
}
