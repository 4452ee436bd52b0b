// Runs the DAV DataStore contract against a real Xandikos 0.2 (no authentication of its own).
import { startXandikos } from '../../support/dav-servers.js';
import { davStoreContract } from './dav-store-contract.js';

davStoreContract('Xandikos', () => startXandikos(), { checksAuth: false });
