// Runs the DAV DataStore contract against a real Radicale 3.1 (htpasswd auth, owner_only).
import { startRadicale } from '../../support/dav-servers.js';
import { davStoreContract } from './dav-store-contract.js';

davStoreContract('Radicale', () => startRadicale(), { checksAuth: true });
