// 导出诊断信息 (from the 同步 panel, and under a failed sign-in): one file in Downloads
// for the bureau's IT; the dialog says where it is and that it holds nothing secret.
import { showDialog } from "vant";
import { api } from "./api";
import { showError } from "./errors";

export async function exportDiagnostics(): Promise<void> {
  try {
    const r = await api.exportDiagnostics();
    void showDialog({
      title: "已导出诊断信息",
      message: `已保存到：\n${r.path}\n\n请将此文件发给本单位信息化人员。文件不含密码、登录令牌、照片或检查内容。`,
      confirmButtonText: "知道了",
    });
  } catch (e) {
    showError(e);
  }
}
